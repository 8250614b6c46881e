"""Forms of accounts: sign-in and second factor, passwords, person sign-up, unit binding,
the unit administrator's operator forms and the back office's unit search."""

from django import forms

from shebao.core.passwords import PasswordPolicyValidator
from shebao.filings.business import BusinessKind
from shebao.web.fields import MobileField, PersonNameField, SignInIdNumberField
from shebao.web.forms import StyledForm

PASSWORD_HELP = PasswordPolicyValidator().get_help_text()


class UnitLoginForm(StyledForm):
    unit_key = forms.CharField(label="单位编号或统一社会信用代码", max_length=20)
    account = forms.CharField(label="操作员账号", max_length=30)
    password = forms.CharField(label="密码", widget=forms.PasswordInput, max_length=128)


class PersonLoginForm(StyledForm):
    id_number = SignInIdNumberField(label="身份证号码")
    password = forms.CharField(label="密码", widget=forms.PasswordInput, max_length=128)


class StaffLoginForm(StyledForm):
    username = forms.CharField(label="经办账号", max_length=150)
    password = forms.CharField(label="密码", widget=forms.PasswordInput, max_length=128)


class FactorForm(StyledForm):
    code = forms.CharField(
        label="验证码",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class NewPasswordForm(StyledForm):
    """A new password typed twice; the forms that set one add their own fields."""

    new_password = forms.CharField(
        label="新密码", widget=forms.PasswordInput, max_length=128, help_text=PASSWORD_HELP
    )
    new_password2 = forms.CharField(label="确认新密码", widget=forms.PasswordInput, max_length=128)

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password2"):
            self.add_error("new_password2", "两次输入的密码不一致")
        return data


class PasswordChangeForm(NewPasswordForm):
    old_password = forms.CharField(label="原密码", widget=forms.PasswordInput, max_length=128)
    field_order = ["old_password", "new_password", "new_password2"]


class ForgotIdentifyForm(StyledForm):
    """Which fields appear depends on the account kind (see views.FORGOT_FIELDS)."""

    unit_key = forms.CharField(label="单位编号或统一社会信用代码", max_length=20, required=False)
    account = forms.CharField(label="操作员账号", max_length=30, required=False)
    id_number = SignInIdNumberField(label="身份证号码", required=False)
    username = forms.CharField(label="经办账号", max_length=150, required=False)


class ForgotResetForm(NewPasswordForm):
    code = forms.CharField(label="短信验证码", max_length=6)
    field_order = ["code", "new_password", "new_password2"]


class PersonSignupIdentifyForm(StyledForm):
    id_number = SignInIdNumberField(label="身份证号码")
    name = PersonNameField(label="姓名")


class PersonSignupFinishForm(NewPasswordForm):
    code = forms.CharField(label="短信验证码", max_length=6)
    field_order = ["code", "new_password", "new_password2"]


class UnitBindForm(StyledForm):
    unit_no = forms.CharField(label="单位编号", max_length=20)
    code = forms.CharField(
        label="网报注册码", max_length=20, help_text="经办机构打印的注册信息单上的注册码"
    )
    account = forms.CharField(
        label="管理员账号", max_length=30, help_text="4–30 位字母、数字或下划线"
    )
    display_name = PersonNameField(label="管理员姓名")
    mobile = MobileField(label="管理员手机号")
    sms_code = forms.CharField(label="短信验证码", max_length=6)
    password = forms.CharField(
        label="密码", widget=forms.PasswordInput, max_length=128, help_text=PASSWORD_HELP
    )
    password2 = forms.CharField(label="确认密码", widget=forms.PasswordInput, max_length=128)

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", "两次输入的密码不一致")
        return data


class OperatorCreateForm(StyledForm):
    account = forms.CharField(
        label="操作员账号", max_length=30, help_text="4–30 位字母、数字或下划线"
    )
    display_name = PersonNameField(label="姓名")
    mobile = MobileField(label="手机号", help_text="登录时接收短信验证码")
    password = forms.CharField(
        label="初始密码", widget=forms.PasswordInput, max_length=128, help_text=PASSWORD_HELP
    )
    business_kinds = forms.MultipleChoiceField(
        label="可办理业务",
        choices=BusinessKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class OperatorKindsForm(StyledForm):
    business_kinds = forms.MultipleChoiceField(
        label="可办理业务",
        choices=BusinessKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class OperatorResetPasswordForm(StyledForm):
    new_password = forms.CharField(
        label="新密码", widget=forms.PasswordInput, max_length=128, help_text=PASSWORD_HELP
    )


class UnitSearchForm(StyledForm):
    """The back office's unit search."""

    q = forms.CharField(label="单位编号、信用代码或名称", required=False, max_length=100)
