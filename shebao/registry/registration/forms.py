"""The public first registration's forms: the unit's data with the administrator account and
the materials, the SMS code to submit, and finding one's application again."""

from django import forms

from shebao.core.passwords import PasswordPolicyValidator, validate_new_password
from shebao.registry.forms import ACCEPT, UnitFieldsForm
from shebao.registry.registration.kinds import MATERIALS
from shebao.web.fields import MobileField
from shebao.web.forms import StyledForm


class UnitRegistrationForm(UnitFieldsForm):
    """Public first registration: the unit's data, the administrator account, the materials."""

    admin_account = forms.CharField(
        label="管理员账号",
        max_length=30,
        min_length=4,
        help_text="审核通过后用于登录单位网厅，4–30 位字母、数字或下划线",
    )
    password = forms.CharField(
        label="管理员密码",
        widget=forms.PasswordInput(render_value=False),
        max_length=128,
        help_text=PasswordPolicyValidator().get_help_text(),
    )
    password2 = forms.CharField(label="确认密码", widget=forms.PasswordInput, max_length=128)

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        for slot, label in MATERIALS.items():
            self.fields[slot] = forms.FileField(
                label=label,
                required=not editing,
                widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
                help_text="JPG、PNG 或 PDF；图片自动旋转、去黑边并压缩到 500 KB 以内"
                + ("；不重新上传则保留原文件" if editing else ""),
            )
        if editing:
            self.fields["password"].required = False
            self.fields["password2"].required = False
            self.fields["password"].help_text = "不修改请留空"

    def clean_admin_account(self):
        value = self.cleaned_data["admin_account"].strip()
        if not all(c.isascii() and (c.isalnum() or c == "_") for c in value):
            raise forms.ValidationError("账号只能包含字母、数字或下划线")
        return value

    def clean(self):
        data = super().clean()
        password = data.get("password")
        if password:
            if password != data.get("password2"):
                self.add_error("password2", "两次输入的密码不一致")
            else:
                try:
                    validate_new_password(
                        password,
                        account_name=data.get("admin_account", ""),
                        display_name=data.get("contact_name", ""),  # the admin's, on approval
                    )
                except forms.ValidationError as e:
                    self.add_error("password", e)
        return data


class SubmitForm(StyledForm):
    code = forms.CharField(label="短信验证码", max_length=6, min_length=6)


class ReopenForm(StyledForm):
    serial_no = forms.CharField(label="流水号", max_length=20)
    mobile = MobileField(label="联系人手机")
    code = forms.CharField(label="短信验证码", max_length=6)
