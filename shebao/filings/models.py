"""The filing (申报业务): one workflow behind every business a unit or person asks for."""

from django.db import models
from django.db.models import Q

from shebao.core.crypto import (
    ID,
    MOBILE,
    SealedAttribute,
    SealedJSONField,
    lookup_column,
    masked_column,
    sealed_column,
)
from shebao.filings.kinds import handler_for


class FilingKind(models.TextChoices):
    UNIT_REGISTRATION = "unit_registration", "单位首次参保登记"
    ENROLMENT = "enrolment", "人员参保"
    STOP = "stop", "人员停保"
    TRANSFER_OUT = "transfer_out", "人员转出"
    TRANSFER_IN = "transfer_in", "人员转入"
    PERSON_KEY_CHANGE = "person_key_change", "人员关键信息变更"
    PERSON_GENERAL_CHANGE = "person_general_change", "人员一般信息变更"
    PERSON_LOCK = "person_lock", "人员信息锁定"
    UNIT_GENERAL_CHANGE = "unit_general_change", "单位一般信息变更"
    UNIT_KEY_CHANGE = "unit_key_change", "单位关键信息变更"
    WAGE_ANNUAL = "wage_annual", "年度工资申报"
    WAGE_MONTHLY = "wage_monthly", "机关事业月度分项工资申报"
    BACK_PAY = "back_pay", "核定基数补缴"
    ADJUST_PAY = "adjust_pay", "调整基数补缴"
    SUPPLEMENT_PAY = "supplement_pay", "个人补收"
    FLEXIBLE_ENROLMENT = "flexible_enrolment", "灵活就业人员参保登记"


class FilingState(models.TextChoices):
    DRAFT = "draft", "待提交"
    SUBMITTED = "submitted", "审核中"
    APPROVED = "approved", "已办结"
    RETURNED = "returned", "已回退"
    CANCELLED = "cancelled", "已退单"


OPEN_STATES = (FilingState.DRAFT, FilingState.SUBMITTED, FilingState.RETURNED)
EDITABLE_STATES = (FilingState.DRAFT, FilingState.RETURNED)


class Filing(models.Model):
    serial_no = models.CharField("流水号", max_length=20, unique=True)
    kind = models.CharField("业务类型", max_length=40, choices=FilingKind.choices)
    state = models.CharField(
        "状态", max_length=10, choices=FilingState.choices, default=FilingState.DRAFT
    )
    region = models.ForeignKey("core.Region", on_delete=models.PROTECT, verbose_name="统筹区")
    unit = models.ForeignKey(
        "registry.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="filings",
        verbose_name="单位",
    )
    person = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="filings",
        verbose_name="人员",
    )
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Who to tell about the outcome, and who may reopen an anonymous filing (registration).
    contact_mobile_enc = sealed_column("联系手机")
    contact_mobile_lookup = lookup_column()
    contact_mobile = SealedAttribute(MOBILE, lookup=True)
    title = models.CharField("摘要", max_length=200)
    # What the filing is about, for "one open filing per subject" (e.g. the USCC of a registration).
    subject_key = models.CharField("业务主键", max_length=40, blank=True)
    payload = SealedJSONField("申报内容", default=dict)  # ID numbers and mobiles encrypted
    return_reason = models.CharField("回退原因", max_length=500, blank=True)
    was_returned = models.BooleanField("回退标志", default=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    decided_at = models.DateTimeField("办结时间", null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "申报业务"
        verbose_name_plural = "申报业务"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["region", "state", "submitted_at"]),
            models.Index(fields=["unit", "state"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="returned") | ~Q(return_reason=""),
                name="filing_returned_has_reason",
            ),
            models.UniqueConstraint(
                fields=["kind", "subject_key"],
                condition=Q(state__in=["draft", "submitted", "returned"]) & ~Q(subject_key=""),
                name="filing_one_open_per_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.serial_no}"

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES


class FilingStep(models.Model):
    """Every step of a filing: who, when, what (办事进度)."""

    class Action(models.TextChoices):
        CREATE = "create", "保存"
        EDIT = "edit", "修改"
        SUBMIT = "submit", "提交"
        APPROVE = "approve", "审核通过"
        RETURN = "return", "回退"
        CANCEL = "cancel", "退单"
        REOPEN = "reopen", "重新打开"
        AUTO_APPROVE = "auto", "自动审核通过"

    filing = models.ForeignKey(Filing, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=100)
    action = models.CharField(max_length=10, choices=Action.choices)
    from_state = models.CharField(max_length=10, choices=FilingState.choices, blank=True)
    to_state = models.CharField(max_length=10, choices=FilingState.choices)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]


def material_path(instance: "FilingMaterial", filename: str) -> str:
    return f"materials/{instance.filing.serial_no}/{instance.slot}-{instance.sha256[:12]}{filename}"


class FilingMaterial(models.Model):
    """申报材料: an image or PDF checked by content (see materials.check_material)."""

    filing = models.ForeignKey(Filing, on_delete=models.CASCADE, related_name="materials")
    slot = models.CharField("材料类型", max_length=40)
    file = models.FileField(upload_to=material_path, max_length=200)
    original_name = models.CharField("文件名", max_length=100)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slot", "id"]
        constraints = [
            models.UniqueConstraint(fields=["filing", "slot"], name="one_material_per_slot")
        ]

    @property
    def label(self) -> str:
        """What the material is (e.g. 营业执照), from the filing kind's list of materials."""
        handler = handler_for(self.filing.kind)
        labels = {**getattr(handler, "optional_materials", {}), **handler.required_materials}
        return labels.get(self.slot, self.slot)


class FilingRow(models.Model):
    """One person of a (batch) filing, with its own review result. While a row is open the
    person can be in no other open filing (database constraint on the ID number)."""

    class Result(models.TextChoices):
        PENDING = "pending", "待审核"
        APPROVED = "approved", "通过"
        REFUSED = "refused", "不通过"

    filing = models.ForeignKey(Filing, on_delete=models.CASCADE, related_name="rows")
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    id_number_enc = sealed_column("证件号码")
    id_number_lookup = lookup_column()
    id_number_masked = masked_column("证件号码")
    id_number = SealedAttribute(ID, lookup=True, masked=True)
    name = models.CharField("姓名", max_length=50)
    payload = SealedJSONField("内容", default=dict)
    result = models.CharField(
        "审核结果", max_length=10, choices=Result.choices, default=Result.PENDING
    )
    refuse_reason = models.CharField("不通过原因", max_length=200, blank=True)
    is_open = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_lookup"],
                condition=Q(is_open=True),
                name="one_open_filing_per_person",
            ),
            models.CheckConstraint(
                condition=~Q(result="refused") | ~Q(refuse_reason=""),
                name="refused_row_has_reason",
            ),
        ]


class RegionFilingRule(models.Model):
    """Per region: whether a kind that is not always reviewed is approved on submit (seed 002)."""

    region = models.ForeignKey("core.Region", on_delete=models.CASCADE)
    kind = models.CharField("业务类型", max_length=40, choices=FilingKind.choices)
    auto_approve = models.BooleanField("提交即通过", default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["region", "kind"], name="region_filing_rule_unique")
        ]


def kept_material_path(instance: "KeptMaterial", filename: str) -> str:
    return f"kept/{instance.token}{filename}"


class KeptMaterial(models.Model):
    """A material that passed the content check on a form that then failed to save (a mistake
    in another field): kept for the same browser session, so the applicant need not upload it
    again. ``owner`` is a random token held only in that session (filings/kept.py); the filing
    takes the file over on a successful save; rows older than a day are purged."""

    owner = models.CharField(max_length=64, db_index=True)
    scope = models.CharField("表单", max_length=60)  # e.g. "registration:new"
    slot = models.CharField("材料类型", max_length=40)
    token = models.CharField(max_length=32, unique=True)
    file = models.FileField(upload_to=kept_material_path, max_length=200)
    original_name = models.CharField("文件名", max_length=100)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "scope", "slot"], name="one_kept_material_per_slot"
            )
        ]

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
