"""Ship the published Beijing and Shanghai parameter sets and the 记账利率 table (DOMAIN §5).

Every set is 待核实 until staff check it against the notice; Shanghai's medical/maternity split
is disputed between published summaries (9 %, 9.5 % or 10 % in all) and noted as such."""

from decimal import Decimal as D

from django.db import migrations

BJ_SOURCE = "北京市人力资源和社会保障局等：关于统一{year}年度各项社会保险缴费工资基数上下限的通知"
SH_SOURCE = "上海市人力资源和社会保障局等：关于调整{year}年度本市职工社会保险缴费基数上下限的通知"
SH_MEDICAL_NOTE = "；医疗单位费率各摘要不一致（9%、9.5%或合计10%），暂按9%+生育1%，待核实"

# region, valid_from, floor, cap
BASES = [
    ("110000", 202407, "6821", "35283", BJ_SOURCE.format(year=2024)),
    ("110000", 202507, "7162", "35811", BJ_SOURCE.format(year=2025)),
    ("310000", 202407, "7384", "36921", SH_SOURCE.format(year=2024)),
    ("310000", 202507, "7460", "37302", SH_SOURCE.format(year=2025)),
]
# region -> [(type, unit rate, personal rate, personal fixed, note)]
RATES = {
    "110000": [
        ("110", "0.16", "0.08", "0", ""),
        ("210", "0.005", "0.005", "0", ""),
        ("310", "0.098", "0.02", "3", "；医疗含生育，个人另缴大额互助3元"),
        ("410", "0.002", "0", "0", "；工伤按单位费率，此处为一类行业基准"),
    ],
    "310000": [
        ("110", "0.16", "0.08", "0", ""),
        ("210", "0.005", "0.005", "0", ""),
        ("310", "0.09", "0.02", "0", SH_MEDICAL_NOTE),
        ("510", "0.01", "0", "0", SH_MEDICAL_NOTE),
        ("410", "0.002", "0", "0", "；工伤按单位费率，此处为一类行业基准"),
    ],
}
# 机关事业单位养老保险 (国发〔2015〕2号) with 职业年金 (国办发〔2015〕18号): 16 % / 8 %, annuity
# 8 % / 4 %, on the same floor and cap.
INSTITUTION = (
    "120",
    "0.16",
    "0.08",
    "0",
    "；机关事业单位养老保险（国发〔2015〕2号），职业年金单位8%、个人4%（国办发〔2015〕18号）",
)
for _rates in RATES.values():
    _rates.append(INSTITUTION)

INTEREST = {
    2016: "8.31",
    2017: "7.12",
    2018: "8.29",
    2019: "7.61",
    2020: "6.04",
    2021: "6.69",
    2022: "6.12",
    2023: "3.97",
    2024: "2.62",
}


def forwards(apps, schema_editor):
    Region = apps.get_model("core", "Region")
    ParameterSet = apps.get_model("contributions", "ParameterSet")
    InterestRate = apps.get_model("contributions", "InterestRate")
    Region.objects.get_or_create(code="110000", defaults={"name": "北京市"})
    Region.objects.get_or_create(code="310000", defaults={"name": "上海市"})
    for region, valid_from, floor, cap, source in BASES:
        for item, unit_rate, personal_rate, personal_fixed, note in RATES[region]:
            ParameterSet.objects.get_or_create(
                region_id=region,
                insurance_type=item,
                valid_from=valid_from,
                version=1,
                defaults={
                    "floor": D(floor),
                    "cap": D(cap),
                    "unit_rate": D(unit_rate),
                    "personal_rate": D(personal_rate),
                    "personal_fixed": D(personal_fixed),
                    "annuity_unit_rate": D("0.08") if item == "120" else D(0),
                    "annuity_personal_rate": D("0.04") if item == "120" else D(0),
                    "source": source + note,
                    "status": "unverified",
                },
            )
    for year, rate in INTEREST.items():
        InterestRate.objects.get_or_create(
            year=year,
            defaults={
                "rate": D(rate) / 100,
                "source": "人力资源社会保障部、财政部公布的职工基本养老保险个人账户记账利率",
            },
        )


class Migration(migrations.Migration):
    dependencies = [("contributions", "0001_initial"), ("core", "0002_region_current_period")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
