"""Back office pages for policy parameters (缴费参数) and units' work-injury rates (工伤费率).
Thin: parse, call one service or selector, render. Staff see their own regions only; another
region's set or unit answers 404 like a missing one."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shebao.contributions.models import ParameterSet, Rounding
from shebao.contributions.params import services as svc
from shebao.core.periods import Period
from shebao.registry.models import InsuranceType
from shebao.registry.selectors import staff_unit_get
from shebao.web.decorators import hall_required
from shebao.web.forms import StyledForm, add_service_errors

TYPE_CHOICES = [(t, f"{t} {label}") for t, label in InsuranceType.choices]
NUMERIC = {"inputmode": "decimal", "autocomplete": "off"}


def _text(label: str, *, required=True, help_text="", placeholder="", numeric=True):
    attrs = dict(NUMERIC) if numeric else {}
    if placeholder:
        attrs["placeholder"] = placeholder
    return forms.CharField(
        label=label,
        required=required,
        max_length=300 if not numeric else 24,
        help_text=help_text,
        widget=forms.TextInput(attrs=attrs),
        error_messages={"required": f"请填写{label}"},
    )


class FilterForm(StyledForm):
    region = forms.ChoiceField(label="统筹区", required=False)
    insurance_type = forms.ChoiceField(
        label="险种", required=False, choices=[("", "全部险种"), *TYPE_CHOICES]
    )

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "全部统筹区"), *((r.pk, r.name) for r in regions)]


class PublishForm(StyledForm):
    """Everything is text: the service parses and answers in Chinese next to each field."""

    region = forms.ChoiceField(label="统筹区", error_messages={"required": "请选择统筹区"})
    insurance_type = forms.ChoiceField(
        label="险种",
        choices=[("", "请选择"), *TYPE_CHOICES],
        error_messages={"required": "请选择险种"},
    )
    valid_from = _text(
        "起始年月",
        placeholder="例如 202507",
        help_text="yyyyMM；同一起始年月再次发布即为新版本（更正），新的起始年月取代此前的参数",
    )
    floor = _text("缴费基数下限（元）")
    cap = _text("缴费基数上限（元）")
    unit_rate = _text("单位费率", placeholder="例如 0.16", help_text="小数：0.16 表示 16%")
    personal_rate = _text("个人费率", placeholder="例如 0.08", help_text="小数：0.08 表示 8%")
    unit_fixed = _text("单位定额（元）", required=False, help_text="没有填 0 或不填")
    personal_fixed = _text(
        "个人定额（元）", required=False, help_text="例如北京医疗个人另缴大额互助 3 元"
    )
    unit_rounding = forms.ChoiceField(label="单位舍入方式", choices=Rounding.choices)
    personal_rounding = forms.ChoiceField(label="个人舍入方式", choices=Rounding.choices)
    annuity_unit_rate = _text(
        "职业年金单位费率", required=False, help_text="仅机关事业单位养老保险（120），如 0.08"
    )
    annuity_personal_rate = _text(
        "职业年金个人费率", required=False, help_text="仅机关事业单位养老保险（120），如 0.04"
    )
    source = forms.CharField(
        label="依据（文号或网址）",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "请填写依据（文件文号或公布网址）",
            "max_length": "依据不能超过300字",
        },
        help_text="公布该参数的文件文号或官方网址",
    )
    status = forms.ChoiceField(
        label="状态",
        choices=[
            (ParameterSet.Status.UNVERIFIED, "待核实"),
            (ParameterSet.Status.DEMO, "演示数据"),
        ],
        help_text="发布后由经办人员对照原文核实，再标记为“已核实”",
    )

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.pk, r.name) for r in regions]


class InjuryRateForm(StyledForm):
    valid_from = _text("起始年月", placeholder="例如 202601", help_text="yyyyMM")
    factor = forms.ChoiceField(label="浮动比例")

    def __init__(self, *args, factors, benchmark, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["factor"].choices = [
            (f"{f:f}", f"{svc.percent(f)}%（费率 {svc.percent(benchmark * f)}%）") for f in factors
        ]


@hall_required("staff")
def parameters(request):
    """History per region × insurance type: every version, validity, status, source, who."""
    regions = list(svc.staff_regions(request.user))
    form = FilterForm(request.GET or None, regions=regions)
    data = form.cleaned_data if form.is_valid() else {}
    groups = svc.parameter_overview(
        request.user,
        region=data.get("region", ""),
        insurance_type=data.get("insurance_type", ""),
    )
    return render(
        request,
        "contributions/params/list.html",
        {"form": form, "groups": groups, "regions": regions},
    )


@hall_required("staff")
def parameter_publish(request):
    """Publish a new set; ?from=<id> pre-fills from an existing set (new version: keep the
    month; next period: change it)."""
    regions = list(svc.staff_regions(request.user))
    initial = {"unit_rounding": Rounding.FEN, "personal_rounding": Rounding.FEN}
    base = None
    source_id = request.GET.get("from", "")
    if source_id.isdigit():
        base = svc.staff_parameter_get(request.user, int(source_id))
        initial = svc.parameter_initial(base)
        if request.GET.get("next") == "1":
            initial["valid_from"] = ""
    form = PublishForm(request.POST or None, initial=initial, regions=regions)
    if request.method == "POST" and not form.is_valid():
        _value_errors(form)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        region = data.pop("region")
        insurance_type = data.pop("insurance_type")
        valid_from = data.pop("valid_from")
        try:
            ps = svc.parameter_set_publish(
                actor=request.user,
                region=region,
                insurance_type=insurance_type,
                valid_from=valid_from,
                fields=data,
            )
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            what = f"第{ps.version}版（更正）" if ps.version > 1 else "新参数"
            messages.success(
                request,
                f"已发布 {ps.region.name} {ps.insurance_type} "
                f"{Period.parse(ps.valid_from).label}起的{what}，状态“{ps.get_status_display()}”。"
                "已结算的缴费明细不会重算。",
            )
            return redirect("staff:parameter_detail", parameter_set_id=ps.pk)
    return render(
        request,
        "contributions/params/publish.html",
        {"form": form, "base": base, "regions": regions},
    )


def _value_errors(form: PublishForm) -> None:
    """When the form itself is refused (a required field is empty), still tell every other
    wrong value at once: the service's checks of the values, without writing anything."""
    fields = {name: form.data.get(name) for name in svc.FIELDS if name in form.data}
    try:
        svc.clean_parameter_fields(form.data.get("insurance_type", ""), fields)
    except ValidationError as e:
        for name, errors in e.message_dict.items():
            if name in form.fields and name not in form.errors:
                form.add_error(name, errors[0])
                attrs = form.fields[name].widget.attrs
                attrs["class"] = attrs.get("class", "") + " is-invalid"


@hall_required("staff")
def parameter_detail(request, parameter_set_id: int):
    ps = svc.staff_parameter_get(request.user, parameter_set_id)
    group = svc.parameter_overview(
        request.user, region=ps.region_id, insurance_type=ps.insurance_type
    )
    rows = group[0].rows if group else []
    row = next((r for r in rows if r.ps.pk == ps.pk), None)
    return render(
        request,
        "contributions/params/detail.html",
        {"ps": ps, "row": row, "rows": rows, "labels": svc.set_labels(ps)},
    )


@require_POST
@hall_required("staff")
def parameter_verify(request, parameter_set_id: int):
    try:
        ps = svc.parameter_set_verify(actor=request.user, parameter_set_id=parameter_set_id)
    except ValidationError as e:
        messages.error(request, "；".join(e.messages))
    else:
        messages.success(request, f"已将第{ps.version}版标记为“已核实”")
    return redirect("staff:parameter_detail", parameter_set_id=parameter_set_id)


@hall_required("staff")
def injury_rates(request, unit_no: str):
    """A unit's work-injury rate history, and setting its rate from a month."""
    unit = staff_unit_get(request.user, unit_no)
    state = svc.injury_rate_state(unit)
    initial = {
        "factor": "1.00",
        "valid_from": str(state["next_open"] or unit.region.current_period),
    }
    form = InjuryRateForm(
        request.POST or None,
        initial=initial,
        factors=state["factors"],
        benchmark=state["benchmark"],
    )
    if request.method == "POST" and form.is_valid():
        try:
            row = svc.unit_injury_rate_set(
                actor=request.user,
                unit=unit,
                valid_from=form.cleaned_data["valid_from"],
                factor=form.cleaned_data["factor"],
            )
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            messages.success(
                request,
                f"已设置 {unit.name} 自{Period.parse(row.valid_from).label}起的工伤费率 "
                f"{svc.percent(row.rate)}%",
            )
            return redirect("staff:injury_rates", unit_no=unit.unit_no)
    return render(
        request,
        "contributions/params/injury_rates.html",
        {
            "unit": unit,
            "form": form,
            "rows": svc.injury_rate_history(unit),
            "state": state,
            "class_label": svc.class_label(unit.injury_risk_class),
        },
    )
