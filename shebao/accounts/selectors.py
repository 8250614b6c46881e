"""Reads on accounts, scoped by the actor."""

from django.core.exceptions import ValidationError
from django.http import Http404

from shebao.accounts.models import UnitOnlineRegistration, User
from shebao.core.inputs import search_id_number
from shebao.registry import selectors as registry_selectors
from shebao.registry.models import Person, Unit


def unit_by_key(unit_key: str) -> Unit | None:
    """A unit by unit number or USCC (what operators type on the sign-in page)."""
    key = (unit_key or "").strip().upper()
    if not key:
        return None
    field = "uscc" if len(key) == 18 else "unit_no"
    return Unit.objects.filter(**{field: key}).first()


def operator_for_login(unit_key: str, account: str) -> User | None:
    unit = unit_by_key(unit_key)
    if unit is None:
        return None
    return (
        User.objects.select_related("unit", "registration")
        .filter(
            kind=User.Kind.OPERATOR,
            unit=unit,
            registration__revoked_at__isnull=True,
            operator_account__iexact=(account or "").strip(),
        )
        .first()
    )


def person_by_id_number(id_number: str) -> Person | None:
    """The person signing in, up or resetting a password: the type is not asked, the number
    alone decides (see ``registry.selectors.person_by_id_number``)."""
    try:
        number = search_id_number(id_number)
    except ValidationError:
        return None  # no stored number fails the rule: nobody to find
    return registry_selectors.person_by_id_number(number)


def person_user_for_login(id_number: str) -> User | None:
    person = person_by_id_number(id_number)
    if person is None:
        return None
    return User.objects.select_related("person").filter(person=person).first()


def staff_for_login(username: str) -> User | None:
    return User.objects.filter(kind=User.Kind.STAFF, username=(username or "").strip()).first()


def unit_operators(actor: User):
    return User.objects.filter(
        kind=User.Kind.OPERATOR, registration_id=actor.registration_id
    ).order_by("-is_unit_admin", "operator_account")


def unit_operator_get(actor: User, operator_id: int) -> User:
    try:
        return unit_operators(actor).get(pk=operator_id)
    except User.DoesNotExist:
        raise Http404 from None


def pending_login_user(uid) -> User | None:
    """The active account half-way through sign-in (password given, second factor pending)."""
    return User.objects.filter(pk=uid, is_active=True).first() if uid else None


def password_reset_user(uid) -> User | None:
    """The account a forgotten-password code was sent for (None: no such account)."""
    return User.objects.filter(pk=uid).first() if uid else None


def signup_person(pk) -> Person | None:
    """The person half-way through self-registration (identified, SMS code pending)."""
    return Person.objects.filter(pk=pk).first() if pk else None


def active_online_registration(unit: Unit) -> UnitOnlineRegistration | None:
    return UnitOnlineRegistration.objects.filter(unit=unit, revoked_at__isnull=True).first()


def registration_operators(registration: UnitOnlineRegistration | None):
    """The operators of a unit's online registration, administrator first."""
    if registration is None:
        return []
    return registration.operators.order_by("-is_unit_admin", "operator_account")
