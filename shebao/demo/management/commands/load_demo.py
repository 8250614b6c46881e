"""Demo data: regions, units of several types, a few hundred insured persons with enrolments,
one staff reviewer per region, and a lived-in history (``shebao/demo/history.py``): three years
of settled and paid months, persons with a login (a worker, a retiree, a flexible worker), a unit
in arrears and filings in every state. Idempotent: a second run only prints the sign-in details."""

import os
import random
from datetime import date
from decimal import Decimal as D

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction

from shebao.accounts.models import UnitOnlineRegistration, User
from shebao.accounts.services import operator_internal_username
from shebao.contributions.models import ParameterSet, RegionPolicy
from shebao.core.ids import make_resident_id, make_uscc
from shebao.core.models import Region
from shebao.core.periods import Period
from shebao.core.retirement import WOMEN_WORKERS, retirement_period
from shebao.core.sequences import next_person_no
from shebao.demo import history
from shebao.registry.models import Affiliation, Enrolment, Person, UnitType, UnitTypeDefault
from shebao.registry.roster import roster_refresh
from shebao.registry.services import FALLBACK_DEFAULTS, unit_create

DEMO_PASSWORD = "Demo@2026"

REGIONS = [
    # code, name, is_demo, insurance places
    ("110000", "北京市", False, ["北京市市本级"]),
    ("310000", "上海市", False, ["上海市市本级"]),
    (
        "150100",
        "呼和浩特市",
        True,
        ["呼市市本级", "土默特左旗", "托克托县", "和林格尔县", "清水河县", "武川县"],
    ),
    ("130400", "邯郸市", True, ["邯郸市市本级"]),
    ("420100", "武汉市", True, ["武汉市市本级"]),
    ("610200", "铜川市", True, ["铜川市市本级"]),
    ("330100", "杭州市", True, ["杭州市市本级"]),
]
STAFF = {  # region -> (username, TOTP secret; fixed so the README and dev console can show it)
    "110000": "demo_bj",
    "310000": "demo_sh",
    "150100": "demo_hhht",
    "130400": "demo_hd",
    "420100": "demo_wh",
    "610200": "demo_tc",
    "330100": "demo_hz",
}
TOTP_SECRET = "SHEBAODEMOTOTPSECRETKEYFORDEMOS"

UNITS = [
    # region, name, type, vip, persons, mobile
    ("110000", "北京示范科技有限公司", UnitType.ENTERPRISE, True, 120, "13900000001"),
    ("110000", "北京顺达物流有限公司", UnitType.ENTERPRISE, False, 150, "13900000002"),
    ("110000", "北京市示范区人力资源和社会保障局", UnitType.GOVERNMENT, False, 40, "13900000003"),
    ("310000", "上海浦江贸易有限公司", UnitType.ENTERPRISE, False, 60, "13900000004"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国玉兰志强春梅海燕晓东"
AREAS = {"110000": ["110101", "110105", "110108"], "310000": ["310101", "310104", "310115"]}

DEMO_RATES = [
    ("110", "0.16", "0.08"),
    ("120", "0.16", "0.08"),
    ("210", "0.005", "0.005"),
    ("310", "0.08", "0.02"),
    ("410", "0.004", "0"),
    ("510", "0.008", "0"),
]

PERSON_DEMO = ("11010519491231002X", "张晓红", "13800000001")


class Command(BaseCommand):
    help = "加载演示数据（可重复执行）"

    def handle(self, *args, **options):
        if not User.objects.filter(username="demo_bj").exists():
            with transaction.atomic():
                self.load()
            self.stdout.write(self.style.SUCCESS("演示数据已加载"))
        else:
            self.stdout.write("演示数据已存在，跳过加载")
        self.print_accounts()

    def load(self):
        rng = random.Random(20261123)
        # One Argon2 hash for every demo account (each costs a quarter of a second).
        self.password_hash = make_password(DEMO_PASSWORD)
        regions = {}
        for code, name, is_demo, places in REGIONS:
            regions[code], _ = Region.objects.update_or_create(
                code=code,
                defaults={"name": name, "is_demo": is_demo, "insurance_places": places},
            )
            for unit_type, types in FALLBACK_DEFAULTS.items():
                UnitTypeDefault.objects.get_or_create(
                    region=regions[code], unit_type=unit_type, defaults={"insurance_types": types}
                )
        self.demo_parameters(regions)
        staff = {}
        for code, username in STAFF.items():
            user = User(
                username=username,
                kind=User.Kind.STAFF,
                display_name=f"{regions[code].name}经办员",
                mobile=f"137000{code[:5]}",
                totp_secret=TOTP_SECRET,
                totp_confirmed=True,
            )
            user.password = self.password_hash
            user.save()
            user.regions.add(regions[code])
            staff[code] = user
        units, admins = [], {}
        for i, (code, name, unit_type, vip, n_persons, mobile) in enumerate(UNITS, start=1):
            unit = unit_create(
                actor=staff[code],
                region=regions[code],
                fields={
                    "name": name,
                    "uscc": make_uscc(f"91{code}MA0{i:02d}XK7P"),
                    "unit_type": unit_type,
                    "affiliation": Affiliation.CITY,
                    "insurance_place": regions[code].insurance_places[0],
                    "address": f"{regions[code].name}示范路{i}号",
                    "legal_rep_name": "李示范",
                    "legal_rep_id_number": make_resident_id("110101", date(1975, 5, i), 11),
                    "contact_name": "王联系",
                    "contact_mobile": mobile,
                    "industry": "信息传输、软件和信息技术服务业",
                    "injury_risk_class": 1 if unit_type != UnitType.ENTERPRISE else 2,
                    "is_vip": vip,
                },
            )
            registration = UnitOnlineRegistration.objects.create(
                unit=unit, via=UnitOnlineRegistration.Via.REGISTRATION_CODE
            )
            admin = User(
                username=operator_internal_username(registration, "admin"),
                kind=User.Kind.OPERATOR,
                unit=unit,
                registration=registration,
                operator_account="admin",
                display_name="王联系",
                mobile=mobile,
                is_unit_admin=True,
            )
            admin.password = self.password_hash
            admin.save()
            self.persons(rng, unit, n_persons)
            units.append(unit)
            admins[unit.pk] = admin
        self.early_retiree(units[0])
        # The lived-in part: years of settled and paid months (shebao/demo/history.py).
        history.earlier_parameter_sets({u.region_id for u in units})
        logins = history.named_persons(
            units,
            history.history_range(min(u.region.current_period for u in units)),
            self.password_hash,
        )
        arrears_unit = units[1]
        history.run_history(units=units, staff_of=staff, logins=logins, arrears_unit=arrears_unit)
        history.unit_filings(
            arrears_unit,
            admins[arrears_unit.pk],
            staff[arrears_unit.region_id],
            arrears_unit.region.current_period,
        )

    def early_retiree(self, unit):
        """The first demo person (born 1949): retired in 1999 from the first unit, before any
        record kept online; her sign-in still works."""
        id_number, name, mobile = PERSON_DEMO
        person = Person.objects.create(
            person_no=next_person_no("110000"),
            id_number=id_number,
            name=name,
            sex=Person.Sex.FEMALE,
            birth_date=date(1949, 12, 31),
            hukou=Person.Hukou.LOCAL_URBAN,
            first_work_date=date(1968, 9, 1),
            mobile=mobile,
        )
        Enrolment.objects.bulk_create(
            Enrolment(
                person=person,
                unit=unit,
                region_id="110000",
                insurance_type=t,
                start_period=199201,
                stop_period=199912,
                stop_date=date(1999, 12, 31),
                stop_reason=Enrolment.StopReason.RETIRED,
                status=Enrolment.Status.ENDED,
                wage_base="1200.00",
            )
            for t in unit.insurance_types
        )
        roster_refresh(unit_ids=[unit.pk], person_ids=[person.pk])
        history.person_login(person, self.password_hash)

    def demo_parameters(self, regions):
        """Invented but plausible parameter sets for the seeds' cities (status 演示数据)."""
        for code, _name, is_demo, _places in REGIONS:
            RegionPolicy.objects.get_or_create(region=regions[code])
            if not is_demo:
                continue
            for valid_from, floor, cap in ((202407, "4200", "21000"), (202507, "4400", "22000")):
                for item, unit_rate, personal_rate in DEMO_RATES:
                    ParameterSet.objects.get_or_create(
                        region=regions[code],
                        insurance_type=item,
                        valid_from=valid_from,
                        version=1,
                        defaults={
                            "floor": D(floor),
                            "cap": D(cap),
                            "unit_rate": D(unit_rate),
                            "personal_rate": D(personal_rate),
                            "annuity_unit_rate": D("0.08") if item == "120" else D(0),
                            "annuity_personal_rate": D("0.04") if item == "120" else D(0),
                            "source": "演示数据（非真实参数）",
                            "status": "demo",
                        },
                    )

    def persons(self, rng, unit, n):
        areas = AREAS.get(unit.region_id, ["110101"])
        persons, enrolments = [], []
        current = Period.parse(unit.region.current_period)
        for _ in range(n):
            # aged 26 to 53 this year (born 1972-1999 in 2025)
            year = rng.randint(current.year - 53, current.year - 26)
            birth = date(year, rng.randint(1, 12), rng.randint(1, 28))
            order = rng.randint(1, 999)
            if retirement_period(birth, WOMEN_WORKERS) <= current:
                order |= 1  # a woman worker born then has retired (at 50 and more): a man
            id_number = make_resident_id(rng.choice(areas), birth, order)
            if Person.objects.filter(Person.id_number.q(id_number)).exists() or any(
                p.id_number == id_number for p in persons
            ):
                continue
            persons.append(
                Person(
                    person_no=next_person_no(unit.region_id),
                    id_number=id_number,
                    name=rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.randint(1, 2))),
                    sex="1" if int(id_number[16]) % 2 else "2",
                    birth_date=birth,
                    hukou=rng.choice(Person.Hukou.values),
                    first_work_date=date(max(birth.year + 18, 2000), rng.randint(1, 12), 1),
                    mobile=f"15{rng.randint(0, 999_999_999):09d}",
                )
            )
        Person.objects.bulk_create(persons)
        saved = Person.objects.filter(id_number_lookup__in=[p.id_number_lookup for p in persons])
        for person in saved:
            start = max(person.first_work_date.year, 2015) * 100 + rng.randint(1, 12)
            wage = f"{rng.randint(5000, 40000)}.00"
            for t in unit.insurance_types:
                enrolments.append(
                    Enrolment(
                        person=person,
                        unit=unit,
                        region_id=unit.region_id,
                        insurance_type=t,
                        start_period=start,
                        status=Enrolment.Status.ACTIVE,
                        wage_base=wage,
                    )
                )
        Enrolment.objects.bulk_create(enrolments)
        roster_refresh(unit_ids=[unit.pk], person_ids=[p.pk for p in saved])

    def print_accounts(self):
        w = self.stdout.write
        w("")
        w(
            f"演示账号（密码均为 {DEMO_PASSWORD}；短信验证码见 {os.environ.get('SHEBAO_SERVE_URL', 'http://127.0.0.1:' + os.environ.get('PORT', '8000'))}/dev/ 开发控制台）"
        )
        for user in User.objects.filter(
            kind=User.Kind.OPERATOR, operator_account="admin", registration__revoked_at__isnull=True
        ).select_related("unit"):
            w(
                f"  单位网厅：单位编号 {user.unit.unit_no}  操作员 admin  （{user.unit.name}"
                f"{'，VIP' if user.unit.is_vip else ''}）"
            )
        current = min(Region.objects.filter(pk__in=AREAS).values_list("current_period", flat=True))
        worker, retiree, flexible = history.named_specs(current)
        for spec, what in (
            (worker, "有三年缴费记录和个人账户的职工"),
            (retiree, "退休人员，缴费至退休当月"),
            (flexible, "灵活就业人员，本月已核定待缴费"),
        ):
            w(f"  个人网厅：身份证号 {history.named_id(spec)}（{spec[4]}，{what}）")
        w(f"  个人网厅：身份证号 {PERSON_DEMO[0]}（{PERSON_DEMO[1]}，1999 年退休，无网上缴费记录）")
        w("  欠费与待办：单位编号 110000000002（上月结算未缴费；一笔退回修改、一笔待审核）")
        w(
            f"  经办后台：{'、'.join(STAFF.values())}  动态口令密钥 {TOTP_SECRET}（当前口令见开发控制台）"
        )
