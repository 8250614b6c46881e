"""Forms of the information changes: the person search, each change kind's form (with the
current value shown under every field), the lock / unlock forms of the back office, and the
initial values of a form opened on a saved filing."""

from django import forms

from shebao.core.inputs import RESIDENT_LAYOUT
from shebao.filings.materials import MaterialRejected, check_material
from shebao.filings.models import FilingKind
from shebao.registry.changes import calc
from shebao.registry.forms import ACCEPT
from shebao.registry.models import Person, UnitType
from shebao.web.fields import (
    AddressField,
    IdNumberField,
    MobileField,
    PersonNameField,
    RuleField,
    UnitNameField,
    UsccField,
)
from shebao.web.forms import StyledForm

UNCHANGED = "不变更请留空"


def _file_field(label: str, required_hint: str) -> forms.FileField:
    return forms.FileField(
        label=label,
        required=False,
        widget=forms.FileInput(attrs={"accept": ACCEPT}),
        help_text=f"{required_hint}JPG、PNG 或 PDF；图片自动旋转、去黑边并压缩到 500 KB 以内",
    )


def _show_before(form, labels: dict, before: dict, suffix: str = "") -> None:
    for key in labels:
        shown = calc.shown_value(key, before.get(key)) or "（空）"
        form.fields[key].help_text = f"变更前：{shown}{suffix}"
        if isinstance(form.fields[key], RuleField):
            form.fields[key].unchanged = before.get(key) or None


class PersonSearchForm(StyledForm):
    q = forms.CharField(
        label="证件号码、个人编号或姓名",
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class PersonKeyChangeForm(StyledForm):
    name = PersonNameField(label="姓名（变更后）", required=False)
    id_number = IdNumberField(label="证件号码（变更后）", required=False)
    birth_date = forms.DateField(
        label="出生日期（变更后）",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "请按“年-月-日”填写出生日期"},
    )
    sex = forms.ChoiceField(
        label="性别（变更后）", required=False, choices=[("", "不变更"), *Person.Sex.choices]
    )
    proof = _file_field(calc.PERSON_KEY_MATERIALS["proof"], "必须上传。")

    def __init__(self, *args, before: dict, id_type: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # the person's own type: its rule checks the new number
        self.fields["id_number"].id_type = id_type or RESIDENT_LAYOUT
        _show_before(self, calc.PERSON_KEY_LABELS, before, f"；{UNCHANGED}")
        self.fields["id_number"].help_text += "。居民身份证变更后，出生日期和性别随号码自动更正"
        self.fields["id_number"].widget.attrs["autocomplete"] = "off"


class PersonGeneralChangeForm(StyledForm):
    mobile = MobileField(label="手机号码", required=False)
    address = AddressField(label="联系地址", required=False)
    hukou = forms.ChoiceField(
        label="户口性质", required=False, choices=[("", "未填写"), *Person.Hukou.choices]
    )

    def __init__(self, *args, before: dict, **kwargs):
        super().__init__(*args, **kwargs)
        _show_before(self, calc.PERSON_GENERAL_LABELS, before)
        self.fields["mobile"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})


class PersonLockForm(StyledForm):
    reason = forms.CharField(
        label="锁定原因",
        max_length=calc.LOCK_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="例如：正在办理退休手续。锁定后姓名、证件号码、出生日期、性别不能变更，"
        "解锁须由经办机构办理",
    )

    def __init__(self, *args, before: dict, **kwargs):  # before: unused (no fields to show)
        super().__init__(*args, **kwargs)


class UnitGeneralChangeForm(StyledForm):
    contact_name = PersonNameField(label="联系人")
    contact_mobile = MobileField(label="联系人手机")
    address = AddressField(label="单位地址")

    def __init__(self, *args, before: dict, **kwargs):
        super().__init__(*args, **kwargs)
        _show_before(self, calc.UNIT_GENERAL_LABELS, before)
        self.fields["contact_mobile"].widget.attrs["inputmode"] = "numeric"


class UnitKeyChangeForm(StyledForm):
    name = UnitNameField(label="单位名称（变更后）", required=False)
    uscc = UsccField(label="统一社会信用代码（变更后）", required=False)
    legal_rep_name = PersonNameField(label="法定代表人（变更后）", required=False)
    legal_rep_id_number = IdNumberField(label="法定代表人身份证号（变更后）", required=False)
    unit_type = forms.ChoiceField(
        label="单位类型（变更后）", required=False, choices=[("", "不变更"), *UnitType.choices]
    )
    licence = _file_field(calc.UNIT_KEY_MATERIALS["licence"], "必须上传。")
    legal_rep_id = _file_field(calc.LEGAL_REP_ID_LABEL, "更换法定代表人时必须上传。")

    def __init__(self, *args, before: dict, **kwargs):
        super().__init__(*args, **kwargs)
        _show_before(self, calc.UNIT_KEY_LABELS, before, f"；{UNCHANGED}")
        self.fields["uscc"].help_text += "。变更后可用单位编号或新代码登录"
        self.fields["unit_type"].help_text += "。参保险种不随单位类型自动调整"
        self.fields["legal_rep_id_number"].widget.attrs["autocomplete"] = "off"


class LockForm(StyledForm):
    reason = forms.CharField(
        label="锁定原因",
        max_length=calc.LOCK_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="例如：正在办理退休审批",
    )


class UnlockForm(StyledForm):
    note = forms.CharField(label="解锁说明（可选）", required=False, max_length=200)


CHANGE_FORMS = {
    FilingKind.PERSON_KEY_CHANGE: PersonKeyChangeForm,
    FilingKind.PERSON_GENERAL_CHANGE: PersonGeneralChangeForm,
    FilingKind.PERSON_LOCK: PersonLockForm,
    FilingKind.UNIT_GENERAL_CHANGE: UnitGeneralChangeForm,
    FilingKind.UNIT_KEY_CHANGE: UnitKeyChangeForm,
}
MATERIAL_SLOTS = {
    FilingKind.PERSON_KEY_CHANGE: list(calc.PERSON_KEY_MATERIALS),
    FilingKind.UNIT_KEY_CHANGE: [*calc.UNIT_KEY_MATERIALS, calc.LEGAL_REP_ID_SLOT],
}
# Kinds whose form shows the current values as its initial values (the others start blank:
# blank means unchanged).
PREFILLED_KINDS = (FilingKind.PERSON_GENERAL_CHANGE, FilingKind.UNIT_GENERAL_CHANGE)


def change_initial(kind: str, before: dict, filing) -> dict:
    """The initial values of a change form: the current values (general kinds) or nothing for
    a new filing; what the saved filing says for an edit (key kinds: only what changes)."""
    if filing is None:
        return before if kind in PREFILLED_KINDS else {}
    payload = filing.payload
    if kind == FilingKind.PERSON_LOCK:
        return {"reason": payload.get("reason", "")}
    after = payload.get("after", {})
    if kind in PREFILLED_KINDS:
        return after
    return {k: v for k, v in after.items() if v != payload.get("before", {}).get(k)}


def change_form(
    kind: str, before: dict, filing, data=None, files=None, *, id_type: str | None = None
) -> StyledForm:
    """``id_type``: the person's (the person key change checks the new number against it)."""
    initial = change_initial(kind, before, filing)
    extra = {"id_type": id_type} if kind == FilingKind.PERSON_KEY_CHANGE else {}
    return CHANGE_FORMS[kind](data, files, initial=initial, before=before, **extra)


def checked_materials(files, form, kind: str) -> dict:
    """The kind's uploaded materials, checked; a refused upload is an error on its field."""
    checked = {}
    for slot in MATERIAL_SLOTS.get(kind, []):
        upload = files.get(slot)
        if upload is None:
            continue
        try:
            checked[slot] = check_material(upload)
        except MaterialRejected as e:
            form.add_error(slot, str(e))
    return checked
