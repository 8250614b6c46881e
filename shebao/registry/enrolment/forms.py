"""The forms of the enrolment pages: the ID number look-up, one person's enrolment (人员参保,
人员转入), the stop (人员停保, 人员转出) and the roster search."""

from django import forms

from shebao.core.periods import Period
from shebao.filings.models import FilingKind
from shebao.registry.models import Enrolment, InsuranceType, Person
from shebao.web.fields import AddressField, IdNumberField, MobileField, PersonNameField
from shebao.web.forms import StyledForm

DATE_WIDGET = {"type": "date"}


def _date_field(label: str, *, required=True, help_text="") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        error_messages={"required": f"请填写{label}", "invalid": f"{label}格式应为yyyy-mm-dd"},
    )


class LookupForm(StyledForm):
    id_number = IdNumberField(
        label="身份证号码",
        help_text="输入后点“查询”，系统自动判断新参保、续保、险种新增或单位间转移",
    )


class EnrolmentForm(StyledForm):
    """One person's enrolment (三项协同: enrolment, labour contract, employment registration).
    Fields the lookup makes pointless are removed (an existing person's name, a transfer-in's
    person data)."""

    name = PersonNameField(label="姓名")
    ethnicity = forms.CharField(label="民族", max_length=20, required=False, initial="汉族")
    hukou = forms.ChoiceField(
        label="户口性质",
        choices=[("", "请选择"), *Person.Hukou.choices],
        error_messages={"required": "请选择户口性质"},
    )
    first_work_date = _date_field("参加工作日期")
    mobile = MobileField(label="手机号", required=False)
    address = AddressField(label="联系地址", required=False)
    scope = forms.ChoiceField(
        label="用工形式",
        choices=Enrolment.Scope.choices,
        help_text="农村户口职工可与单位协商参加农民工两险（工伤、医疗）或五险",
    )
    insurance_types = forms.MultipleChoiceField(
        label="参保险种",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请至少选择一个险种"},
    )
    start_period = forms.CharField(
        label="参保年月",
        max_length=7,
        error_messages={"required": "请填写参保年月"},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "例如 202503"}),
    )
    wage = forms.DecimalField(
        label="申报工资（元/月）",
        max_digits=12,
        decimal_places=2,
        error_messages={"required": "请填写申报工资"},
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    waive_back_pay = forms.BooleanField(
        label="不补收（参保年月早于当前结算期时默认补收，各险种一致）", required=False
    )
    contract_start = _date_field("劳动合同起始日期")
    contract_end = _date_field("劳动合同终止日期", required=False, help_text="无固定期限合同不填")
    employment_registered = forms.BooleanField(
        label="同时办理就业登记", required=False, initial=True
    )
    photo = forms.FileField(
        label="社保卡照片（可选）",
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,.jpg,.jpeg,.png"}),
        help_text="JPG 或 PNG；系统自动旋转、去黑边并压缩到 500 KB 以内",
    )
    target = forms.ChoiceField(label="保存到", required=False)

    def __init__(self, *args, lookup, kind, unit, drafts=(), bounds=None, **kwargs):
        super().__init__(*args, **kwargs)
        if bounds is not None:  # wage_floor.js says under the field which base will be used
            self.fields["wage"].widget.attrs.update(bounds.attrs())
            self.fields["wage"].help_text = (
                f"当前结算期缴费基数下限 {bounds.floor:,.2f} 元、上限 {bounds.cap:,.2f} 元；"
                "低于下限按下限、高于上限按上限计算（补收的月份按当月上下限）"
            )
        person = lookup.person
        drop = set()
        if person is not None:
            drop |= {"name", "ethnicity"}
            if person.first_work_date:
                drop.add("first_work_date")
        if kind == FilingKind.TRANSFER_IN:
            drop |= {"name", "ethnicity", "hukou", "first_work_date", "mobile", "address", "photo"}
        for name in drop:
            self.fields.pop(name, None)
        self.fields["insurance_types"].choices = [
            (t, f"{t} {InsuranceType(t).label}") for t in lookup.available
        ]
        if lookup.open_here:
            self.fields["insurance_types"].help_text = "本单位已参保：" + "、".join(
                lookup.open_here
            )
        current = Period.parse(unit.region.current_period)
        self.fields[
            "start_period"
        ].help_text = f"yyyyMM；不能早于参加工作日期所在月份；早于当前结算期（{current}）时自动补收"
        if drafts:
            self.fields["target"].choices = [
                *((f.serial_no, draft_label(f)) for f in drafts),
                ("", "新建一笔业务"),
            ]
            # the actor's newest open draft of this kind (else the unit's newest), not a second
            # filing, unless asked for: the drafts come in that order (unit_drafts)
            self.fields["target"].initial = drafts[0].serial_no
            self.fields[
                "target"
            ].help_text = "默认保存到您最近的待提交业务；您没有时为本单位其他操作员最近的待提交业务"
        else:
            self.fields.pop("target")

    def clean_target(self) -> str:
        """A post without the choice at all goes to the default draft ("" is a new filing)."""
        if "target" not in self.data:
            return self.fields["target"].initial or ""
        return self.cleaned_data.get("target") or ""


def draft_label(filing) -> str:
    """A draft as the 保存到 choice names it: serial number, who saved it, its title."""
    who = filing.created_by
    name = (who.display_name or who.operator_account or who.username) if who else ""
    saved = f"{name} 保存，" if name else ""
    return f"待提交业务 {filing.serial_no}（{saved}{filing.title}）"


def enrolment_initial(lookup, unit, row=None) -> dict:
    """The person form's initial data: the row being edited, else defaults from the lookup."""
    if row is not None:
        return dict(row.payload.get("after", {}))
    person = lookup.person
    initial = {
        "insurance_types": list(lookup.available),
        "start_period": str(Period.parse(unit.region.current_period)),
        "employment_registered": True,
        "scope": Enrolment.Scope.REGULAR,
    }
    if person is not None:
        initial.update(hukou=person.hukou, mobile=person.mobile, address=person.address)
    return initial


class StopForm(StyledForm):
    insurance_types = forms.MultipleChoiceField(
        label="停保险种",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请至少选择一个险种"},
    )
    reason = forms.ChoiceField(
        label="停保原因",
        choices=[("", "请选择"), *Enrolment.StopReason.choices],
        error_messages={"required": "请选择停保原因"},
    )
    stop_date = _date_field(
        "停保日期",
        help_text="不能晚于今天，不能早于人员上次变更日期；停保日期所在月份为最后缴费月",
    )

    def __init__(self, *args, kind, unit, **kwargs):
        super().__init__(*args, **kwargs)
        if kind == FilingKind.TRANSFER_OUT:
            self.fields.pop("insurance_types")
            self.fields.pop("reason")
            self.fields["stop_date"].label = "转出日期"
        else:
            self.fields["insurance_types"].choices = [
                (t, f"{t} {InsuranceType(t).label}") for t in unit.insurance_types
            ]


class RosterSearchForm(StyledForm):
    q = forms.CharField(
        label="姓名或个人编号",
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "按姓名或个人编号查询", "type": "search"}),
    )

    def query(self) -> str:
        return self.cleaned_data.get("q", "") if self.is_valid() else ""
