"""Every path that finds a person by a typed ID number uses the ID rule of shebao.core.inputs
(``search_id_number``, or the resident-layout rule where the path takes only that): a valid
number, however typed, finds the person; one with an inner space finds nobody (the old rule
dropped inner spaces silently)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from shebao.accounts.selectors import person_by_id_number
from shebao.contributions.backpay.selectors import unit_person_by_id_number
from shebao.core import inputs
from shebao.core.ids import make_resident_id
from shebao.halls.pipl.selectors import pipl_person_search
from shebao.registry.changes.selectors import staff_person_search, unit_person_search
from shebao.registry.enrolment.selectors import enrolment_lookup
from shebao.registry.models import Person
from shebao.registry.queries.selectors import RosterSearch
from tests.registry.enrolment_helpers import enrol

NUMBER = "11010519491231002X"
TYPED = " １１０１０５１９４９１２３１００２ｘ "
INNER_SPACE = "1101051949123100 2X"


@pytest.fixture
def enrolled(person, unit_a):
    enrol(person, unit_a)
    return person


def finds(enrolled, admin_a, staff_bj, q) -> dict[str, bool]:
    return {
        "sign-in": person_by_id_number(q) == enrolled,
        "changes (unit)": enrolled in unit_person_search(admin_a, q),
        "changes (staff)": enrolled in staff_person_search(staff_bj, q),
        "pipl": enrolled in pipl_person_search(staff_bj, q),
        "back pay": unit_person_by_id_number(admin_a, q) == enrolled,
        "enrolment": enrolment_lookup(actor=admin_a, id_number=q).person == enrolled,
    }


def test_a_valid_number_however_typed_finds_the_person(enrolled, admin_a, staff_bj):
    assert all(finds(enrolled, admin_a, staff_bj, TYPED).values())
    assert RosterSearch.parse(TYPED) == RosterSearch("id", NUMBER, NUMBER)


def test_an_inner_space_finds_nobody(enrolled, admin_a, staff_bj):
    found = {
        "sign-in": person_by_id_number(INNER_SPACE) == enrolled,
        "changes (unit)": enrolled in unit_person_search(admin_a, INNER_SPACE),
        "changes (staff)": enrolled in staff_person_search(staff_bj, INNER_SPACE),
        "pipl": enrolled in pipl_person_search(staff_bj, INNER_SPACE),
        "back pay": unit_person_by_id_number(admin_a, INNER_SPACE) == enrolled,
    }
    assert not any(found.values()), found
    assert RosterSearch.parse(INNER_SPACE).kind != "id"
    with pytest.raises(ValidationError) as e:
        enrolment_lookup(actor=admin_a, id_number=INNER_SPACE)
    assert e.value.message_dict == {
        "id_number": ["身份证号码只能由数字和末位的X组成，不能有空格或其他符号"]
    }


def test_a_taiwan_residence_permit_holder_is_found(person, unit_a, admin_a, staff_bj):
    permit = make_resident_id("830000", date(1990, 1, 1), 1)
    person.id_type, person.id_number = Person.IdType.HMT_PERMIT, permit
    person.save()
    enrol(person, unit_a)
    assert all(finds(person, admin_a, staff_bj, permit.lower()).values())


def test_search_id_number_takes_any_types_format():
    assert inputs.search_id_number(TYPED) == NUMBER
    assert inputs.search_id_number(" e12345678 ") == "E12345678"
    for bad, message in [
        (INNER_SPACE, "身份证号码只能由数字和末位的X组成，不能有空格或其他符号"),
        ("110105194912310021", "身份证号码校验位错误，请逐位核对号码"),
        ("E1234 5678", "身份证号码只能由数字和末位的X组成，不能有空格或其他符号"),
    ]:
        with pytest.raises(ValidationError) as e:
            inputs.search_id_number(bad)
        assert e.value.messages == [message], bad
