"""Accounts of the three kinds of users, the one online registration per unit and its codes."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q

from shebao.core.crypto import MOBILE, SealedAttribute, lookup_column, sealed_column


class User(AbstractUser):
    """One table for everyone who signs in; `kind` says which hall they use.

    `username` is internal and never typed by users: operators sign in with unit number or
    USCC plus their account name, persons with their ID number, staff with their username."""

    class Kind(models.TextChoices):
        OPERATOR = "operator", "单位经办人"
        PERSON = "person", "参保人"
        STAFF = "staff", "经办人员"

    kind = models.CharField("账户类型", max_length=10, choices=Kind.choices)
    display_name = models.CharField("姓名", max_length=50, blank=True)
    mobile_enc = sealed_column("手机号")
    mobile_lookup = lookup_column()
    mobile = SealedAttribute(MOBILE, lookup=True)
    # unit operators
    unit = models.ForeignKey(
        "registry.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="operators",
        verbose_name="单位",
    )
    # Operators belong to one online registration of their unit; revoking it retires them.
    registration = models.ForeignKey(
        "accounts.UnitOnlineRegistration",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="operators",
    )
    operator_account = models.CharField("操作员账号", max_length=30, blank=True)
    is_unit_admin = models.BooleanField("单位管理员", default=False)
    business_kinds = models.JSONField("可办理业务", default=list, blank=True)
    # insured persons
    person = models.OneToOneField(
        "registry.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="account",
        verbose_name="人员",
    )
    # staff
    regions = models.ManyToManyField("core.Region", blank=True, verbose_name="经办统筹区")
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_confirmed = models.BooleanField("已绑定动态口令", default=False)

    objects = UserManager()

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "operator_account"],
                condition=Q(kind="operator"),
                name="operator_account_unique_per_unit",
            ),
            models.CheckConstraint(
                condition=~Q(kind="operator") | Q(unit__isnull=False, registration__isnull=False),
                name="operator_has_unit",
            ),
            models.CheckConstraint(
                condition=~Q(kind="person") | Q(person__isnull=False),
                name="person_account_has_person",
            ),
        ]

    def __str__(self) -> str:
        return self.audit_label()

    def audit_label(self) -> str:
        if self.kind == self.Kind.OPERATOR:
            return f"{self.display_name or self.operator_account}（操作员 {self.operator_account}）"
        if self.kind == self.Kind.PERSON:
            return f"{self.display_name}（参保人 {self.person.masked_id_number}）"
        return f"{self.display_name or self.username}（经办 {self.username}）"

    @property
    def is_operator(self) -> bool:
        """A unit operator (单位经办人)."""
        return self.kind == self.Kind.OPERATOR

    @property
    def is_person(self) -> bool:
        """An insured person (参保人)."""
        return self.kind == self.Kind.PERSON

    @property
    def is_staff_member(self) -> bool:
        """Agency staff (经办人员); not Django's ``is_staff`` (the admin flag)."""
        return self.kind == self.Kind.STAFF

    def may_file(self, business_kind: str) -> bool:
        if not self.is_operator or not self.is_active:
            return False
        return self.is_unit_admin or business_kind in self.business_kinds

    @property
    def sms_mobile(self) -> str:
        """The mobile that receives this account's codes: a person's is the one on record."""
        if self.kind == self.Kind.PERSON:
            return self.person.mobile
        return self.mobile

    @property
    def account_name(self) -> str:
        """What the user types to sign in, for display."""
        if self.kind == self.Kind.OPERATOR:
            return self.operator_account
        if self.kind == self.Kind.PERSON:
            return self.person.masked_id_number
        return self.username


class UnitOnlineRegistration(models.Model):
    """A unit's one online registration (一个单位只能有一个注册信息)."""

    class Via(models.TextChoices):
        FIRST_REGISTRATION = "filing", "网上首次参保登记"
        REGISTRATION_CODE = "code", "网报注册码绑定"

    unit = models.ForeignKey("registry.Unit", on_delete=models.PROTECT, related_name="+")
    via = models.CharField("方式", max_length=10, choices=Via.choices)
    created_at = models.DateTimeField("注册时间", auto_now_add=True)
    revoked_at = models.DateTimeField("注销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "单位网上注册"
        verbose_name_plural = "单位网上注册"
        constraints = [
            models.UniqueConstraint(
                fields=["unit"],
                condition=Q(revoked_at__isnull=True),
                name="one_online_reg_per_unit",
            )
        ]


class RegistrationCode(models.Model):
    """网报注册码 issued at the counter; one-time; only its hash is stored."""

    unit = models.ForeignKey("registry.Unit", on_delete=models.PROTECT, related_name="+")
    code_hash = models.CharField(max_length=128)
    issued_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = "网报注册码"
        verbose_name_plural = "网报注册码"
