"""Policy parameters, wage bases, settlements, contribution lines, payments and accounts.

Two months are kept apart everywhere (DOMAIN §4): the settlement period (结算期, `settle_period`,
when the unit settles and pays) and the period a contribution belongs to (费款所属期,
`belongs_period`). Periods are yyyyMM integers; money is Decimal with two places."""

from datetime import timedelta

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from shebao.contributions.calculator.calc import ANNUITY_ITEM

MONEY = {"max_digits": 14, "decimal_places": 2}
RATE = {"max_digits": 8, "decimal_places": 6}
# A settlement or region job still marked running this long after its last sign of life was
# interrupted (a worker stopped mid-way): staff may stop it so the unit or region can go on.
INTERRUPTED_AFTER = timedelta(minutes=10)


class Rounding(models.TextChoices):
    FEN = "fen", "四舍五入到分"
    JIAO = "jiao", "四舍五入到角"
    YUAN = "yuan", "四舍五入到元"
    JIAO_UP = "jiao_up", "见分进角"


class ItemType(models.TextChoices):
    """What a contribution line pays for: the insurance types plus occupational annuity."""

    ENTERPRISE_PENSION = "110", "企业职工基本养老保险"
    INSTITUTION_PENSION = "120", "机关事业单位养老保险"
    ANNUITY = ANNUITY_ITEM, "职业年金"
    UNEMPLOYMENT = "210", "失业保险"
    MEDICAL = "310", "职工基本医疗保险"
    LARGE_MEDICAL = "330", "大额医疗费用补助"
    INJURY = "410", "工伤保险"
    MATERNITY = "510", "生育保险"


class ParameterSet(models.Model):
    """One published set: region × insurance type × validity (from month; in force until the
    next set's month, DOMAIN §5). A set used by a settlement is never edited: a correction is
    a new version."""

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", "待核实"
        VERIFIED = "verified", "已核实"
        DEMO = "demo", "演示数据"

    region = models.ForeignKey("core.Region", on_delete=models.PROTECT, verbose_name="统筹区")
    insurance_type = models.CharField("险种", max_length=3)
    valid_from = models.PositiveIntegerField("起始年月")
    version = models.PositiveSmallIntegerField("版本", default=1)
    floor = models.DecimalField("缴费基数下限", **MONEY)
    cap = models.DecimalField("缴费基数上限", **MONEY)
    unit_rate = models.DecimalField("单位费率", **RATE)
    personal_rate = models.DecimalField("个人费率", **RATE)
    unit_fixed = models.DecimalField("单位定额", default=0, **MONEY)
    personal_fixed = models.DecimalField("个人定额", default=0, **MONEY)
    unit_rounding = models.CharField(
        "单位舍入", max_length=8, choices=Rounding.choices, default=Rounding.FEN
    )
    personal_rounding = models.CharField(
        "个人舍入", max_length=8, choices=Rounding.choices, default=Rounding.FEN
    )
    annuity_unit_rate = models.DecimalField("职业年金单位费率", default=0, **RATE)
    annuity_personal_rate = models.DecimalField("职业年金个人费率", default=0, **RATE)
    source = models.CharField("依据（文号或网址）", max_length=300)
    status = models.CharField(
        "状态", max_length=12, choices=Status.choices, default=Status.UNVERIFIED
    )
    entered_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "缴费参数"
        verbose_name_plural = "缴费参数"
        ordering = ["region", "insurance_type", "-valid_from", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "insurance_type", "valid_from", "version"],
                name="parameter_set_unique_version",
            ),
            models.CheckConstraint(
                condition=Q(floor__gte=0) & Q(cap__gte=F("floor")), name="parameter_floor_cap"
            ),
            models.CheckConstraint(
                condition=Q(
                    unit_rate__gte=0,
                    personal_rate__gte=0,
                    unit_fixed__gte=0,
                    personal_fixed__gte=0,
                    annuity_unit_rate__gte=0,
                    annuity_personal_rate__gte=0,
                ),
                name="parameter_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__gte=190001, valid_from__lte=299912),
                name="parameter_valid_from_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.insurance_type} {self.valid_from} v{self.version}"


class UnitInjuryRate(models.Model):
    """A unit's work-injury rate with its history (industry benchmark × floating factor)."""

    unit = models.ForeignKey("registry.Unit", on_delete=models.PROTECT, related_name="injury_rates")
    valid_from = models.PositiveIntegerField("起始年月")
    benchmark = models.DecimalField("行业基准费率", **RATE)
    factor = models.DecimalField("浮动系数", max_digits=5, decimal_places=2)
    rate = models.DecimalField("工伤费率", **RATE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "valid_from"], name="injury_rate_unique"),
            models.CheckConstraint(condition=Q(rate__gte=0), name="injury_rate_nonneg"),
        ]


class RegionPolicy(models.Model):
    """Per-region settings of the monthly cycle (DOMAIN §4–5)."""

    class InterestMethod(models.TextChoices):
        MONTHLY = "monthly", "月积数法"
        APPROX = "approx", "年度缴费额×记账利率×1.083×½"

    region = models.OneToOneField("core.Region", on_delete=models.CASCADE, primary_key=True)
    # Due date of a 费款所属期: day of the month (0 = the last day of that month).
    due_day = models.PositiveSmallIntegerField("缴费截止日", default=0)
    late_fee_cap_at_principal = models.BooleanField("滞纳金不超过本金", default=False)
    interest_method = models.CharField(
        "个人账户计息方法",
        max_length=8,
        choices=InterestMethod.choices,
        default=InterestMethod.MONTHLY,
    )


class InterestRate(models.Model):
    """记账利率 of a year (national; entered when published)."""

    year = models.PositiveSmallIntegerField("年度", primary_key=True)
    rate = models.DecimalField("记账利率", **RATE)
    source = models.CharField("依据", max_length=300, blank=True)


class WageBase(models.Model):
    """The wage base of a person at a unit from a month on (annual declaration, monthly itemized
    wages of 机关事业 units, or enrolment). The latest valid_from ≤ period is in force."""

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(
        "registry.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    valid_from = models.PositiveIntegerField("起始年月")
    wage = models.DecimalField("缴费工资", **MONEY)
    items = models.JSONField("分项工资", default=dict, blank=True)
    filing = models.ForeignKey(
        "filings.Filing", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "unit", "valid_from"], name="wage_base_unique"
            ),
            models.CheckConstraint(condition=Q(wage__gte=0), name="wage_base_nonneg"),
        ]
        indexes = [models.Index(fields=["unit", "valid_from"])]


class Settlement(models.Model):
    """One unit's settlement of one 结算期 (at most one in force: database constraint).
    Reopening withdraws it (kept in history) so the unit can settle again."""

    class Kind(models.TextChoices):
        NO_CHANGE = "no_change", "无变动结算"
        WITH_CHANGE = "with_change", "有变动结算"
        FLEXIBLE = "flexible", "灵活人员缴费核定"

    class State(models.TextChoices):
        RUNNING = "running", "结算中"
        CONFIRMED = "confirmed", "已结算"
        WITHDRAWN = "withdrawn", "已撤销"

    # A unit's settlement, or a flexible worker's monthly assessment (unit empty, person set).
    unit = models.ForeignKey(
        "registry.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="settlements",
    )
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    region = models.ForeignKey("core.Region", on_delete=models.PROTECT)
    settle_period = models.PositiveIntegerField("结算期")
    kind = models.CharField("结算类型", max_length=12, choices=Kind.choices)
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.RUNNING)
    headcount = models.PositiveIntegerField("人数", default=0)
    unit_total = models.DecimalField("单位应缴", default=0, **MONEY)
    personal_total = models.DecimalField("个人应缴", default=0, **MONEY)
    progress = models.PositiveSmallIntegerField("进度", default=0)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # when a worker began computing it (committed apart, so the pages see it meanwhile)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "结算"
        verbose_name_plural = "结算"
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "settle_period"],
                condition=~Q(state="withdrawn") & Q(unit__isnull=False),
                name="one_settlement_per_unit_period",
            ),
            models.UniqueConstraint(
                fields=["person", "settle_period"],
                condition=~Q(state="withdrawn") & Q(person__isnull=False),
                name="one_assessment_per_person_period",
            ),
            models.CheckConstraint(
                condition=Q(unit__isnull=False, person__isnull=True)
                | Q(unit__isnull=True, person__isnull=False),
                name="settlement_unit_xor_person",
            ),
            models.CheckConstraint(
                condition=Q(unit_total__gte=0, personal_total__gte=0),
                name="settlement_totals_nonneg",
            ),
        ]

    @property
    def interrupted(self) -> bool:
        """Computing for longer than any computation takes: its worker has stopped."""
        return (
            self.state == self.State.RUNNING
            and self.started_at is not None
            and self.started_at < timezone.now() - INTERRUPTED_AFTER
        )

    @property
    def waiting_long(self) -> bool:
        """Queued for long without a worker taking it (behind a region job, or none running)."""
        return (
            self.state == self.State.RUNNING
            and self.started_at is None
            and self.created_at < timezone.now() - INTERRUPTED_AFTER
        )

    @property
    def stuck(self) -> bool:
        """Interrupted or queued too long: staff may stop it."""
        return self.interrupted or self.waiting_long

    @property
    def total(self):
        return self.unit_total + self.personal_total


class ContributionLine(models.Model):
    """One person × item × 费款所属期 amount, settled in a 结算期. Back-pay lines approved during
    a period wait with settlement empty until the unit's next settlement picks them up."""

    class Kind(models.TextChoices):
        NORMAL = "normal", "正常应缴"
        BACK_PAY = "back_pay", "核定基数补缴"
        ADJUST = "adjust", "调整基数补缴"
        SUPPLEMENT = "supplement", "个人补收"
        FLEXIBLE = "flexible", "灵活就业"

    # No single-column indexes of their own on settlement, unit, person and region: the Meta
    # indexes below lead with the first three (Index(["settlement"]) was the same index twice),
    # and nothing reads lines by region alone. Every index costs each of the millions of
    # month-end inserts.
    settlement = models.ForeignKey(
        Settlement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lines",
        db_index=False,
    )
    unit = models.ForeignKey(
        "registry.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    region = models.ForeignKey(
        "core.Region", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    item = models.CharField("险种", max_length=3, choices=ItemType.choices)
    settle_period = models.PositiveIntegerField("结算期")
    belongs_period = models.PositiveIntegerField("费款所属期")
    kind = models.CharField("类型", max_length=10, choices=Kind.choices, default=Kind.NORMAL)
    base = models.DecimalField("缴费基数", **MONEY)
    unit_amount = models.DecimalField("单位应缴", **MONEY)
    personal_amount = models.DecimalField("个人应缴", **MONEY)
    below_floor = models.BooleanField("低于下限", default=False)
    above_cap = models.BooleanField("高于上限", default=False)
    parameter_set = models.ForeignKey(ParameterSet, on_delete=models.PROTECT, related_name="+")
    filing = models.ForeignKey(
        "filings.Filing", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawn = models.BooleanField("已撤销", default=False)
    paid = models.BooleanField("已到账", default=False)

    class Meta:
        verbose_name = "缴费明细"
        verbose_name_plural = "缴费明细"
        indexes = [
            models.Index(fields=["settlement"]),
            models.Index(fields=["unit", "settle_period", "item"]),
            models.Index(fields=["person", "belongs_period"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(base__gte=0, unit_amount__gte=0, personal_amount__gte=0),
                name="line_amounts_nonneg",
            ),
            models.CheckConstraint(
                condition=Q(belongs_period__lte=F("settle_period")),
                name="line_belongs_not_after_settle",
            ),
        ]


class Payment(models.Model):
    """到账: money the tax bureau reports per unit, 结算期 and insurance item."""

    class Source(models.TextChoices):
        MANUAL = "manual", "手工登记"
        IMPORT = "import", "导入到账文件"

    unit = models.ForeignKey(
        "registry.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    region = models.ForeignKey("core.Region", on_delete=models.PROTECT, related_name="+")
    settle_period = models.PositiveIntegerField("结算期")
    item = models.CharField("险种", max_length=3, choices=ItemType.choices)
    amount = models.DecimalField("金额", **MONEY)
    paid_on = models.DateField("到账日期")
    source = models.CharField("来源", max_length=8, choices=Source.choices)
    batch = models.CharField("导入批次", max_length=40, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive")]
        indexes = [
            models.Index(fields=["unit", "settle_period", "item"]),
            models.Index(fields=["region", "-created_at"]),
            models.Index(fields=["batch"]),
        ]


class Arrear(models.Model):
    """What is due and paid per unit (or flexible worker), 结算期, item and 费款所属期; payments
    fill the oldest 费款所属期 first (DOMAIN §4.5). Recomputed when lines or payments change."""

    # "U<unit id>" for a unit, "P<person id>" for a flexible worker paying alone
    payer = models.CharField(max_length=24)
    unit = models.ForeignKey(
        "registry.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    region = models.ForeignKey("core.Region", on_delete=models.PROTECT, related_name="+")
    settle_period = models.PositiveIntegerField("结算期")
    item = models.CharField("险种", max_length=3, choices=ItemType.choices)
    belongs_period = models.PositiveIntegerField("费款所属期")
    due = models.DecimalField("应缴", **MONEY)
    paid = models.DecimalField("已缴", default=0, **MONEY)
    last_paid_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["payer", "settle_period", "item", "belongs_period"],
                name="arrear_unique",
            ),
            models.CheckConstraint(condition=Q(paid__gte=0, due__gte=0), name="arrear_nonneg"),
        ]
        indexes = [models.Index(fields=["region", "settle_period"])]

    @property
    def outstanding(self):
        return self.due - self.paid


class FlexibleEnrolment(models.Model):
    """A flexible worker's (灵活就业人员) chosen base level; the enrolment itself is an
    individual Enrolment row (unit empty)."""

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey("core.Region", on_delete=models.PROTECT, related_name="+")
    base_level = models.DecimalField("缴费档次（基数下限的倍数）", max_digits=5, decimal_places=2)
    start_period = models.PositiveIntegerField("起始年月")
    stop_period = models.PositiveIntegerField("终止年月", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(stop_period__isnull=True),
                name="one_open_flexible_enrolment",
            ),
        ]


class RegionSettlementJob(models.Model):
    """当期缴费核定: settling every unit of a region for a period as one background job."""

    class State(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "进行中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    region = models.ForeignKey("core.Region", on_delete=models.PROTECT, related_name="+")
    settle_period = models.PositiveIntegerField("结算期")
    state = models.CharField("状态", max_length=8, choices=State.choices, default=State.QUEUED)
    total_units = models.PositiveIntegerField(default=0)
    done_units = models.PositiveIntegerField(default=0)
    skipped = models.JSONField("未结算单位", default=list, blank=True)
    lines = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # set by the job at each step: a running job silent for long was interrupted
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region", "settle_period"],
                condition=Q(state__in=["queued", "running"]),
                name="one_running_region_job",
            )
        ]

    @property
    def interrupted(self) -> bool:
        if self.state not in (self.State.QUEUED, self.State.RUNNING):
            return False
        return (self.heartbeat_at or self.created_at) < timezone.now() - INTERRUPTED_AFTER

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return self.done_units * 100 // self.total_units if self.total_units else 0
