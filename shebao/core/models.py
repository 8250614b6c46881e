"""Regions, the append-only audit log and the SMS outbox."""

from django.db import models
from django.utils import timezone

from shebao.core.crypto import MOBILE, SealedAttribute, lookup_column, sealed_column


def this_month() -> int:
    """The calendar month as a yyyyMM integer (Asia/Shanghai)."""
    return int(timezone.localdate().strftime("%Y%m"))


class Region(models.Model):
    """统筹区: every unit, enrolment, parameter set and staff account belongs to one."""

    code = models.CharField("统筹区编码", max_length=6, primary_key=True)
    name = models.CharField("名称", max_length=50)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    is_demo = models.BooleanField("演示统筹区", default=False)
    # 参保地 choices (e.g. 市本级 / 各旗县), one per line; the registration form offers them.
    insurance_places = models.JSONField("参保地", default=list, blank=True)
    # 当前结算期 (yyyyMM): the month units settle in; staff open the next one.
    current_period = models.PositiveIntegerField("当前结算期", default=this_month)

    class Meta:
        verbose_name = "统筹区"
        verbose_name_plural = "统筹区"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[0-9]{6}$"), name="region_code_six_digits"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise RuntimeError("audit entries are append-only")

    def delete(self):
        raise RuntimeError("audit entries are append-only")


class AuditEntry(models.Model):
    """One row per service call: who, when, what, which object, outcome. Append-only:
    personal data is masked before it gets here, and nothing updates or deletes rows."""

    class Outcome(models.TextChoices):
        OK = "ok", "成功"
        DENIED = "denied", "无权限"
        INVALID = "invalid", "输入有误"
        FAILED = "failed", "失败"

    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="操作人",
        db_constraint=False,
    )
    actor_label = models.CharField("操作人", max_length=100, blank=True)
    region = models.ForeignKey(
        Region, on_delete=models.SET_NULL, null=True, blank=True, db_constraint=False
    )
    action = models.CharField("操作", max_length=60, db_index=True)
    object_type = models.CharField("对象类型", max_length=40, blank=True)
    object_id = models.CharField("对象编号", max_length=40, blank=True, db_index=True)
    object_label = models.CharField("对象", max_length=200, blank=True)
    outcome = models.CharField("结果", max_length=10, choices=Outcome.choices, default=Outcome.OK)
    detail = models.JSONField("详情", default=dict, blank=True)
    ip = models.GenericIPAddressField("IP", null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "审计日志"
        verbose_name_plural = "审计日志"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit entries are append-only")


class SmsMessage(models.Model):
    """The built-in SMS gateway's outbox (and the log of what a real gateway was asked to send)."""

    mobile_enc = sealed_column("手机号")
    mobile_lookup = lookup_column(db_index=True)
    mobile = SealedAttribute(MOBILE, lookup=True)
    text = models.CharField("内容", max_length=500)
    purpose = models.CharField("用途", max_length=40, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    gateway = models.CharField("通道", max_length=100)
    delivered = models.BooleanField("已发送", default=False)

    class Meta:
        verbose_name = "短信"
        verbose_name_plural = "短信发件箱"
        ordering = ["-created_at", "-id"]


class VerificationCode(models.Model):
    """A 6-digit SMS code: valid 10 minutes, single use, resend not before 60 s,
    five wrong tries void it. Only a hash of the code is stored."""

    mobile_enc = sealed_column("手机号")
    mobile_lookup = lookup_column()
    mobile = SealedAttribute(MOBILE, lookup=True)
    purpose = models.CharField("用途", max_length=40)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    voided = models.BooleanField(default=False)

    class Meta:
        verbose_name = "短信验证码"
        verbose_name_plural = "短信验证码"
        indexes = [models.Index(fields=["mobile_lookup", "purpose", "-created_at"])]


class Counter(models.Model):
    """Named sequences (serial numbers, unit and person numbers), incremented under a row lock."""

    key = models.CharField(max_length=30, primary_key=True)
    last = models.PositiveBigIntegerField(default=0)
