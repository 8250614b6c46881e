"""The registry: units, persons, enrolments and the insurance types they are enrolled in."""

from django.db import models
from django.db.models import Q

from shebao.core.crypto import (
    ID,
    MOBILE,
    CopiedLookup,
    SealedAttribute,
    lookup_column,
    masked_column,
    sealed_column,
)


class InsuranceType(models.TextChoices):
    ENTERPRISE_PENSION = "110", "企业职工基本养老保险"
    INSTITUTION_PENSION = "120", "机关事业单位养老保险"
    UNEMPLOYMENT = "210", "失业保险"
    MEDICAL = "310", "职工基本医疗保险"
    LARGE_MEDICAL = "330", "大额医疗费用补助"
    INJURY = "410", "工伤保险"
    MATERNITY = "510", "生育保险"


class UnitType(models.TextChoices):
    ENTERPRISE = "10", "企业"
    GOVERNMENT = "30", "机关"
    INSTITUTION = "50", "事业单位"
    SOCIAL_ORG = "55", "社会团体"
    PRIVATE_NON_ENTERPRISE = "60", "民办非企业单位"
    INDIVIDUAL_BUSINESS = "70", "个体工商户"

    @classmethod
    def may_change_insurance_types(cls, unit_type: str) -> bool:
        """Only 机关 and 事业单位 may change their default insurance types (seed 000)."""
        return unit_type in (cls.GOVERNMENT, cls.INSTITUTION)


class Affiliation(models.TextChoices):
    CENTRAL = "10", "中央"
    PROVINCE = "20", "省"
    CITY = "40", "市、地区"
    COUNTY = "50", "县、区"
    TOWNSHIP = "60", "街道、镇、乡"
    OTHER = "90", "其他"


INJURY_CLASS_BENCHMARKS = {  # industry risk class -> benchmark rate (DOMAIN §5)
    1: "0.0020",
    2: "0.0040",
    3: "0.0070",
    4: "0.0090",
    5: "0.0110",
    6: "0.0130",
    7: "0.0160",
    8: "0.0190",
}


class UnitTypeDefault(models.Model):
    """Insurance types a unit of a type is enrolled in by default, per region (DOMAIN §2)."""

    region = models.ForeignKey("core.Region", on_delete=models.CASCADE)
    unit_type = models.CharField("单位类型", max_length=2, choices=UnitType.choices)
    insurance_types = models.JSONField("默认险种", default=list)

    class Meta:
        verbose_name = "单位类型默认险种"
        verbose_name_plural = "单位类型默认险种"
        constraints = [
            models.UniqueConstraint(fields=["region", "unit_type"], name="unit_type_default_unique")
        ]


class Unit(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "1", "登记在册"
        SUSPENDED = "2", "暂停"
        CANCELLED = "3", "注销"

    unit_no = models.CharField("单位编号", max_length=20, unique=True)
    name = models.CharField("单位名称", max_length=100)
    uscc = models.CharField("统一社会信用代码", max_length=18, null=True, blank=True, unique=True)
    org_code = models.CharField("组织机构代码", max_length=9, blank=True)
    unit_type = models.CharField("单位类型", max_length=2, choices=UnitType.choices)
    affiliation = models.CharField("隶属关系", max_length=2, choices=Affiliation.choices)
    region = models.ForeignKey("core.Region", on_delete=models.PROTECT, verbose_name="统筹区")
    insurance_place = models.CharField("单位参保地", max_length=50, blank=True)
    insurance_types = models.JSONField("参保险种", default=list)
    address = models.CharField("单位地址", max_length=200)
    legal_rep_name = models.CharField("法定代表人", max_length=50)
    legal_rep_id_number_enc = sealed_column("法定代表人身份证号")
    legal_rep_id_number = SealedAttribute(ID)
    contact_name = models.CharField("联系人", max_length=50)
    contact_mobile_enc = sealed_column("联系人手机")
    contact_mobile = SealedAttribute(MOBILE)
    industry = models.CharField("行业", max_length=100, blank=True)
    injury_risk_class = models.PositiveSmallIntegerField("工伤风险类别", default=1)
    bank_name = models.CharField("开户银行", max_length=60, blank=True)
    bank_account = models.CharField("银行账号", max_length=30, blank=True)
    status = models.CharField("状态", max_length=1, choices=Status.choices, default=Status.ACTIVE)
    is_vip = models.BooleanField("VIP单位", default=False)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "参保单位"
        verbose_name_plural = "参保单位"
        ordering = ["unit_no"]
        constraints = [
            models.CheckConstraint(
                condition=Q(injury_risk_class__gte=1, injury_risk_class__lte=8),
                name="unit_injury_class_1_8",
            ),
            models.CheckConstraint(
                condition=Q(uscc__isnull=False) | ~Q(org_code=""), name="unit_has_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.unit_no}）"

    @property
    def insurance_type_labels(self) -> list[str]:
        return [InsuranceType(t).label for t in self.insurance_types]


class Person(models.Model):
    class Sex(models.TextChoices):
        MALE = "1", "男"
        FEMALE = "2", "女"

    class IdType(models.TextChoices):
        RESIDENT = "01", "居民身份证"
        HMT_PERMIT = "02", "港澳台居民居住证"
        FOREIGN_PR = "03", "外国人永久居留身份证"
        PASSPORT = "04", "护照"

    class Hukou(models.TextChoices):
        LOCAL_URBAN = "11", "本地城镇"
        LOCAL_RURAL = "12", "本地农村"
        NONLOCAL_URBAN = "21", "外地城镇"
        NONLOCAL_RURAL = "22", "外地农村"

    person_no = models.CharField("个人编号", max_length=20, unique=True)
    id_type = models.CharField(
        "证件类型", max_length=2, choices=IdType.choices, default=IdType.RESIDENT
    )
    # Encrypted (shebao.core.crypto); unique by (type, number) through the lookup column.
    id_number_enc = sealed_column("证件号码")
    id_number_lookup = lookup_column(db_index=True)
    id_number_masked = masked_column("证件号码")
    id_number = SealedAttribute(ID, lookup=True, masked=True)
    name = models.CharField("姓名", max_length=50)
    sex = models.CharField("性别", max_length=1, choices=Sex.choices)
    birth_date = models.DateField("出生日期")
    ethnicity = models.CharField("民族", max_length=20, blank=True, default="汉族")
    hukou = models.CharField("户口性质", max_length=2, choices=Hukou.choices, blank=True)
    first_work_date = models.DateField("参加工作日期", null=True, blank=True)
    mobile_enc = sealed_column("手机号")
    mobile = SealedAttribute(MOBILE)
    address = models.CharField("地址", max_length=200, blank=True)
    photo = models.ImageField("社保卡照片", upload_to="photos/", blank=True)
    is_locked = models.BooleanField("信息锁定", default=False)
    lock_reason = models.CharField("锁定原因", max_length=200, blank=True)
    # The date of the person's last approved change; a stop date may not be before it.
    last_change_date = models.DateField("最近变更日期", null=True, blank=True)
    created_at = models.DateTimeField("建档时间", auto_now_add=True)

    class Meta:
        verbose_name = "人员"
        verbose_name_plural = "人员"
        ordering = ["person_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_type", "id_number_lookup"], name="person_unique_id_type_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.masked_id_number}）"

    @property
    def masked_id_number(self) -> str:
        """Stored beside the ciphertext: lists show it without decrypting."""
        return self.id_number_masked


class Enrolment(models.Model):
    """参保关系: person × unit × insurance type. Flexible workers have no unit."""

    class Status(models.TextChoices):
        ACTIVE = "1", "正常参保"
        SUSPENDED = "2", "暂停缴费"
        ENDED = "3", "终止"

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="enrolments")
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="enrolments"
    )
    region = models.ForeignKey("core.Region", on_delete=models.PROTECT)
    insurance_type = models.CharField("险种", max_length=3, choices=InsuranceType.choices)
    start_period = models.PositiveIntegerField("参保年月")
    stop_period = models.PositiveIntegerField("停保年月", null=True, blank=True)

    class Scope(models.TextChoices):
        REGULAR = "1", "城镇职工"
        MIGRANT_TWO = "2", "农民工（两险）"
        MIGRANT_FIVE = "5", "农民工（五险）"

    class StopReason(models.TextChoices):
        LEFT = "11", "离职"
        DEATH = "21", "死亡"
        RETIRED = "31", "退休"
        EMIGRATED = "41", "出国定居"
        TRANSFERRED = "51", "转出"
        OTHER = "99", "其他"

    status = models.CharField("参保状态", max_length=1, choices=Status.choices)
    wage_base = models.DecimalField("缴费工资", max_digits=12, decimal_places=2, default=0)
    scope = models.CharField("用工形式", max_length=1, choices=Scope.choices, default=Scope.REGULAR)
    back_pay = models.BooleanField("补缴标志", default=False)
    contract_start = models.DateField("劳动合同起始日期", null=True, blank=True)
    contract_end = models.DateField("劳动合同终止日期", null=True, blank=True)
    employment_registered = models.BooleanField("已办就业登记", default=False)
    stop_date = models.DateField("停保日期", null=True, blank=True)
    stop_reason = models.CharField("停保原因", max_length=2, choices=StopReason.choices, blank=True)
    start_filing = models.ForeignKey(
        "filings.Filing", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stop_filing = models.ForeignKey(
        "filings.Filing", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "参保关系"
        verbose_name_plural = "参保关系"
        constraints = [
            # One open enrolment per person and type across all units; work injury excepted.
            models.UniqueConstraint(
                fields=["person", "insurance_type"],
                condition=Q(stop_period__isnull=True) & ~Q(insurance_type="410"),
                name="enrolment_one_open_per_type",
            ),
            models.UniqueConstraint(
                fields=["person", "unit", "insurance_type"],
                condition=Q(stop_period__isnull=True, insurance_type="410"),
                name="enrolment_one_open_injury_per_unit",
            ),
            models.CheckConstraint(
                condition=Q(stop_period__isnull=True)
                | Q(stop_period__gte=models.F("start_period")),
                name="enrolment_start_before_stop",
            ),
            models.CheckConstraint(condition=Q(wage_base__gte=0), name="enrolment_base_nonneg"),
        ]
        indexes = [
            models.Index(fields=["unit", "status"]),
            # The roster reads a unit's open enrolments; PostgreSQL answers from the index alone.
            models.Index(
                fields=["unit", "person"],
                include=["insurance_type", "start_period", "wage_base", "status"],
                condition=Q(stop_period__isnull=True),
                name="enrolment_unit_open_cover",
            ),
            models.Index(fields=["unit", "start_period"], name="enrolment_unit_start"),
        ]


class RosterEntry(models.Model):
    """参保职工名单, the read model: one row per person and unit they were ever enrolled at,
    with that unit's enrolments folded in, so that a roster page is one indexed read of one
    table instead of a join and a grouping over the unit's enrolments and all persons.

    Never written directly: ``shebao.registry.roster.roster_refresh`` recomputes the rows of
    the persons and units a service changed, in the same transaction (enrolment, stop,
    transfer, person key change, demo data); ``manage.py roster_rebuild`` recomputes them all.

    While the person has an open enrolment here (``is_open``) the figures are those of the open
    enrolments; once every enrolment here is stopped they are those of all of them, with the
    latest stop month."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    person_no = models.CharField("个人编号", max_length=20)
    name = models.CharField("姓名", max_length=50)
    # The person's ID number as its lookup (exact search) and masked display value only.
    id_number_lookup = lookup_column()
    id_number_masked = masked_column("证件号码")
    _lookup_copy = CopiedLookup("id_number_lookup", via="person")
    sex = models.CharField("性别", max_length=1, choices=Person.Sex.choices)
    is_open = models.BooleanField("参保中")
    # Bit masks of insurance types (shebao.registry.roster.TYPE_BITS): the types of the row,
    # and among the open ones those paying and those suspended.
    type_mask = models.PositiveSmallIntegerField("参保险种")
    active_mask = models.PositiveSmallIntegerField("正常参保险种")
    suspended_mask = models.PositiveSmallIntegerField("暂停缴费险种")
    start_period = models.PositiveIntegerField("参保年月")  # the earliest
    stop_period = models.PositiveIntegerField("停保年月", null=True, blank=True)  # stopped only
    wage = models.DecimalField("缴费工资", max_digits=12, decimal_places=2)  # the highest base
    # The status all the open enrolments share; empty when they differ (or nothing is open).
    status = models.CharField(
        "参保状态", max_length=1, choices=Enrolment.Status.choices, blank=True
    )

    class Meta:
        verbose_name = "参保职工名单"
        verbose_name_plural = "参保职工名单"
        constraints = [
            models.UniqueConstraint(fields=["unit", "person"], name="roster_entry_unit_person"),
            models.CheckConstraint(
                condition=Q(is_open=True, stop_period__isnull=True)
                | Q(is_open=False, stop_period__isnull=False),
                name="roster_entry_stop_iff_stopped",
            ),
            models.CheckConstraint(condition=Q(wage__gte=0), name="roster_entry_wage_nonneg"),
        ]
        indexes = [
            # A page of the roster (or of the stopped persons) in person-number order, with its
            # count, from the index alone on PostgreSQL (index-only scan): a unit's entries are
            # spread over the table as its persons came and went, and visiting a heap page per
            # entry costs several times more than reading them all from the index.
            models.Index(
                fields=["unit", "is_open", "person_no"],
                include=[
                    "id",
                    "name",
                    "id_number_masked",
                    "sex",
                    "type_mask",
                    "active_mask",
                    "suspended_mask",
                    "start_period",
                    "stop_period",
                    "wage",
                    "status",
                ],
                name="roster_entry_unit_page",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.person_no}）@{self.unit_id}"

    @property
    def masked_id_number(self) -> str:
        return self.id_number_masked
