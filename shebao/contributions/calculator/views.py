"""The public contribution calculator page (缴费试算, no sign-in). It calls the same read as
`GET /api/v1/calculator` (calculator.selectors.calculate), so the page and the API agree to
the fen.

The query string mirrors the API (region, period, wage, injury_rate). One extra, optional
parameter narrows the lines to what a kind of unit pays: the published sets of a region hold
both enterprise pension (110) and 机关事业 pension (120, with 职业年金 121), and nobody pays both.
Without it the page shows exactly the API's lines and totals; the form sends 企业 by default."""

from django.shortcuts import render

from shebao.contributions.calculator.forms import CalculatorForm
from shebao.contributions.calculator.selectors import (
    ENTERPRISE,
    CalculatorError,
    calculate,
    calculator_bounds,
    calculator_regions,
    calculator_table,
)
from shebao.core.models import this_month
from shebao.web.ratelimits import limit


@limit("calculator_ip", method=None)
def calculator(request):
    regions = calculator_regions()
    submitted = any(name in request.GET for name in ("region", "period", "wage"))
    initial = {"period": str(this_month()), "unit_kind": ENTERPRISE}
    if regions:
        initial["region"] = regions[0][0]
    form = CalculatorForm(request.GET if submitted else None, initial=initial, regions=regions)
    table = result = None
    if submitted and form.is_valid():
        data = form.cleaned_data
        scheme = data.get("unit_kind") or ENTERPRISE
        try:
            result = calculate(
                data["region"], data["period"], data["wage"], data["injury_rate"], scheme
            )
        except CalculatorError as e:
            form.add_calculator_error(str(e))
        else:
            table = calculator_table(result, data.get("unit_kind", ""))
    region_name = dict(regions).get(result["region"], "") if result else ""
    values = request.GET if submitted else initial
    note = form.show_bounds(calculator_bounds(values.get("region", ""), values.get("period", "")))
    context = {"form": form, "result": result, "table": table, "region_name": region_name}
    return render(
        request,
        "contributions/public/calculator.html",
        {**context, "wage_note": note},
        status=400 if submitted and form.errors else 200,
    )
