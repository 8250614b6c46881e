"""The demo loader that ./dev serve runs: the demo accounts it announces can be used, every page
the README points to shows something, the figures agree with what the pages compute, and
running it again changes nothing. The demo is loaded once for the class (twice, in fact)."""

import io
from collections import defaultdict
from decimal import Decimal

from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.test import Client, TestCase, override_settings
from django.urls import reverse

from shebao.accounts.models import User
from shebao.contributions.account.selectors import account_credits, person_account
from shebao.contributions.models import (
    Arrear,
    ContributionLine,
    FlexibleEnrolment,
    Payment,
    Settlement,
)
from shebao.core.ids import resident_id_birth_date, resident_id_sex, validate_resident_id
from shebao.core.models import Region
from shebao.core.periods import Period
from shebao.core.retirement import MEN, retirement_period, track_for
from shebao.demo import history
from shebao.demo.management.commands.load_demo import DEMO_PASSWORD, PERSON_DEMO
from shebao.filings.models import Filing, FilingState
from shebao.registry.models import Enrolment, Person, Unit

MODELS = (Unit, Person, Enrolment, User, Settlement, ContributionLine, Payment, Arrear, Filing)
ZERO = Decimal("0.00")


def load() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in MODELS)


def login(spec) -> User:
    return User.objects.get(Person.id_number.q(history.named_id(spec), "person__"))


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@override_settings(RATELIMIT_ENABLE=False)
class DemoData(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.first_text = load()
        cls.first = counts()
        cls.second_text = load()
        cls.second = counts()
        cls.current = Region.objects.get(pk="110000").current_period
        cls.months = history.history_range(cls.current)

    def test_loads_once_and_a_second_run_changes_nothing(self):
        assert all(self.first)
        assert self.second == self.first
        assert "演示数据已加载" in self.first_text and "演示数据已存在" in self.second_text
        for text in (self.first_text, self.second_text):
            assert "演示账号" in text
            for spec in history.named_specs(self.current):
                assert history.named_id(spec) in text

    def test_every_demo_account_signs_in_with_the_demo_password(self):
        users = list(User.objects.all())
        for user in users:
            validate_password(DEMO_PASSWORD, user=user)
        for spec in history.named_specs(self.current):
            assert login(spec).check_password(DEMO_PASSWORD)
        old = User.objects.get(Person.id_number.q(PERSON_DEMO[0], "person__"))
        assert old.check_password(DEMO_PASSWORD)
        assert User.objects.get(username="demo_bj").check_password(DEMO_PASSWORD)

    def test_persons_have_valid_ids_matching_birth_date_and_sex(self):
        for person in Person.objects.all():
            validate_resident_id(person.id_number)
            assert resident_id_birth_date(person.id_number) == person.birth_date
            assert resident_id_sex(person.id_number) == person.sex
        named = [
            Person.objects.get(Person.id_number.q(history.named_id(s)))
            for s in history.named_specs(self.current)
        ]
        assert all(1960 <= p.birth_date.year <= 1999 for p in named)

    def test_no_one_over_retirement_age_is_still_paying(self):
        open_persons = Person.objects.filter(
            enrolments__stop_period__isnull=True, enrolments__unit__isnull=False
        ).distinct()
        current = Period.parse(self.current)
        for person in open_persons:
            track = track_for(person.sex, cadre=False)
            assert retirement_period(person.birth_date, track) > current, person.name

    def test_the_worker_sees_three_years_of_paid_contributions(self):
        user = login(history.WORKER)
        c = client(user)
        page = c.get(reverse("person:contributions"))
        assert page.status_code == 200
        assert page.context["groups"] and page.context["years"]
        lines = ContributionLine.objects.filter(person=user.person, withdrawn=False)
        periods = sorted(set(lines.values_list("belongs_period", flat=True)))
        assert periods == self.months
        assert all(lines.values_list("paid", flat=True))
        account = c.get(reverse("person:account"))
        assert account.status_code == 200

    def test_the_account_balance_is_the_credited_months_plus_interest(self):
        user = login(history.WORKER)
        credits, _methods = account_credits(user.person)
        pension = ContributionLine.objects.filter(
            person=user.person, item="110", paid=True, withdrawn=False
        )
        by_month = defaultdict(lambda: ZERO)
        for period, amount in pension.values_list("belongs_period", "personal_amount"):
            by_month[period] += amount
        assert credits == dict(by_month) and len(credits) == len(self.months)
        account = person_account(user)  # this year, with every year before it
        statements = account.history
        total_interest = sum((s.interest for s in statements), ZERO)
        assert statements[-1].closing == sum(credits.values(), ZERO) + total_interest
        assert any(s.interest > 0 for s in statements)  # a published rate earned interest
        for s in statements:
            assert s.closing == s.opening + s.credit_total + s.interest

    def test_settlement_totals_equal_their_lines_and_paid_months_their_payments(self):
        for s in Settlement.objects.exclude(state=Settlement.State.WITHDRAWN):
            lines = list(
                s.lines.filter(withdrawn=False).values_list("unit_amount", "personal_amount")
            )
            assert s.unit_total == sum((u for u, _ in lines), ZERO)
            assert s.personal_total == sum((p for _, p in lines), ZERO)
        for a in Arrear.objects.all():
            paid = sum(
                Payment.objects.filter(
                    unit=a.unit,
                    person=a.person if a.unit is None else None,
                    settle_period=a.settle_period,
                    item=a.item,
                ).values_list("amount", flat=True),
                ZERO,
            )
            assert a.paid <= paid

    def test_one_unit_owes_last_month_and_sees_it(self):
        owing = {a.payer for a in Arrear.objects.all() if a.outstanding > 0 and a.unit_id}
        unit = Unit.objects.get(unit_no="110000000002")
        assert owing == {f"U{unit.pk}"}
        assert set(
            Arrear.objects.filter(payer=f"U{unit.pk}", paid__lt=1).values_list(
                "settle_period", flat=True
            )
        ) == {self.months[-1]}
        admin = User.objects.get(unit=unit, operator_account="admin")
        page = client(admin).get(reverse("unit:payable"))
        assert page.status_code == 200 and str(self.months[-1]) in page.content.decode()
        staff = client(User.objects.get(username="demo_bj")).get(reverse("staff:arrears"))
        assert staff.status_code == 200 and unit.name in staff.content.decode()

    def test_the_retiree_paid_until_retirement(self):
        user = login(history.retiree_spec(self.current))
        enrolments = list(Enrolment.objects.filter(person=user.person))
        assert enrolments and all(
            e.status == Enrolment.Status.ENDED
            and e.stop_reason == Enrolment.StopReason.RETIRED
            and e.stop_period
            for e in enrolments
        )
        retired = enrolments[0].stop_period
        birth = user.person.birth_date
        assert retired == int(retirement_period(birth, MEN))
        assert self.months[0] < retired < self.months[-1]
        periods = set(
            ContributionLine.objects.filter(person=user.person).values_list(
                "belongs_period", flat=True
            )
        )
        assert periods and max(periods) == retired and min(periods) == self.months[0]
        assert client(user).get(reverse("person:contributions")).status_code == 200

    def test_the_flexible_worker_has_paid_months_and_a_current_assessment(self):
        user = login(history.FLEXIBLE)
        fe = FlexibleEnrolment.objects.get(person=user.person, stop_period__isnull=True)
        assessed = Settlement.objects.filter(
            person=user.person, kind=Settlement.Kind.FLEXIBLE, state=Settlement.State.CONFIRMED
        )
        periods = sorted(assessed.values_list("settle_period", flat=True))
        assert periods[0] == fe.start_period and periods[-1] == self.current
        paid = ContributionLine.objects.filter(
            person=user.person, unit__isnull=True, paid=True
        ).values_list("belongs_period", flat=True)
        assert set(paid) == set(periods[:-1]) and len(set(paid)) >= 12
        current = Arrear.objects.filter(payer=f"P{user.person_id}", settle_period=self.current)
        assert current and all(a.outstanding == a.due for a in current)
        # before: a worker at the second unit, left when she became a flexible worker
        left = Enrolment.objects.filter(person=user.person, unit__isnull=False)
        assert {e.stop_reason for e in left} == {Enrolment.StopReason.LEFT}
        assert client(user).get(reverse("person:flexible")).status_code == 200

    def test_filings_returned_submitted_and_approved(self):
        unit = Unit.objects.get(unit_no="110000000002")
        filings = Filing.objects.filter(unit=unit)
        returned = filings.get(state=FilingState.RETURNED)
        assert returned.return_reason == history.RETURN_REASON
        assert filings.filter(state=FilingState.SUBMITTED).count() == 1
        assert filings.filter(state=FilingState.APPROVED).count() >= 2
        admin = client(User.objects.get(unit=unit, operator_account="admin"))
        todo = admin.get(reverse("unit:todo")).content.decode()
        assert returned.serial_no in todo
        done = admin.get(reverse("unit:done")).content.decode()
        assert all(f.serial_no in done for f in filings.filter(state=FilingState.APPROVED))
        queue = client(User.objects.get(username="demo_bj")).get(reverse("staff:queue"))
        waiting = filings.get(state=FilingState.SUBMITTED)
        assert waiting.serial_no in queue.content.decode()

    def test_the_current_period_is_left_for_the_user_to_settle(self):
        for region in Region.objects.filter(pk__in=["110000", "310000"]):
            assert region.current_period == self.current
        assert not Settlement.objects.filter(
            unit__isnull=False, settle_period=self.current
        ).exists()
