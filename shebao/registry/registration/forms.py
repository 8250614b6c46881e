"""The public first registration's forms: the unit's data with the administrator account and
the materials, the SMS code to submit, and finding one's application again."""

from django import forms

from shebao.core.passwords import PasswordPolicyValidator, validate_new_password
from shebao.registry.forms import ACCEPT, UnitFieldsForm
from shebao.registry.registration.kinds import MATERIALS
from shebao.web.fields import MobileField
from shebao.web.forms import StyledForm


class KeptFileInput(forms.FileInput):
    """A file input that shows the file already kept for its slot (a thumbnail for an image, an
    icon and the name for a PDF) with 重新上传; the page's script hides the input until then."""

    template_name = "registry/widgets/kept_file.html"
    kept: dict | None = None  # name, url, is_image, note

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["kept"] = self.kept
        return context


class UnitRegistrationForm(UnitFieldsForm):
    """Public first registration: the unit's data, the administrator account, the materials.
    ``kept`` maps a material slot to the file already kept for it (uploaded before a failed
    save, or on the application being edited): that slot needs no new upload."""

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

    def __init__(self, *args, editing=False, kept=None, **kwargs):
        super().__init__(*args, **kwargs)
        kept = kept or {}
        for name in ("industry", "bank_name", "bank_account"):
            self.fields[name].required = True
        for slot, label in MATERIALS.items():
            self.fields[slot] = forms.FileField(
                label=label,
                required=not editing and slot not in kept,
                widget=KeptFileInput(attrs={"accept": ACCEPT}),
                help_text="JPG、PNG 或 PDF；图片自动旋转、去黑边并压缩到 500 KB 以内"
                + ("；不重新上传则保留已上传的文件" if slot in kept else ""),
                error_messages={"required": f"请上传{label}"},
            )
            self.fields[slot].widget.kept = kept.get(slot)
        if editing:
            self.fields["password"].required = False
            self.fields["password2"].required = False
            self.fields["password"].help_text = "不修改请留空"

    @property
    def password_note(self) -> str:
        """The error summary's reminder: the passwords typed are never sent back."""
        if not self.is_bound or not self.errors:
            return ""
        if self.fields["password"].required or self.data.get("password"):
            return "请重新输入管理员密码和确认密码"
        return ""

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


SERIAL_NO_LENGTH = 14  # core.sequences.next_serial_no: yyyyMMdd + 6 digits


class ReopenCodeForm(StyledForm):
    """What 获取验证码 needs on the reopen page, checked before anything is looked up."""

    serial_no = forms.CharField(
        label="申请流水号",
        max_length=40,
        error_messages={"required": "请填写申请流水号"},
        help_text="保存申请时页面显示的 14 位数字",
    )
    mobile = MobileField(label="联系人手机", help_text="申请时填写的联系人手机号")

    def clean_serial_no(self):
        value = "".join(self.cleaned_data["serial_no"].split())
        if not (value.isascii() and value.isdigit() and len(value) == SERIAL_NO_LENGTH):
            raise forms.ValidationError(f"申请流水号为 {SERIAL_NO_LENGTH} 位数字，请核对")
        return value


class ReopenForm(ReopenCodeForm):
    code = forms.CharField(
        label="短信验证码", max_length=6, error_messages={"required": "请填写短信验证码"}
    )
