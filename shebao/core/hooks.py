"""Named calls from a lower floor of the house to a higher one.

A lower layer never imports a higher one (``./dev lint`` checks it). Where it must trigger one
(an approved enrolment with the back-pay flag asks contributions for the back-pay lines; a stop
asks whether the person has unpaid lines; an approved registration creates the unit's first
operator), it calls the hook by name, and this table says which function answers. The only other
dotted-path registries are the filing kinds (``filings/kinds.py``) and the SMS gateway setting."""

from django.utils.module_loading import import_string

HOOKS: dict[str, str] = {
    # registry.enrolment → contributions: the 费款所属期 a person owes at a unit (stops refuse them)
    "contributions.unpaid_periods": "shebao.contributions.settlement.selectors.unpaid_periods",
    # registry.enrolment → contributions: back-pay lines of enrolments filed with the flag
    "contributions.enrolment_back_pay_lines": (
        "shebao.contributions.backpay.services.enrolment_back_pay_lines"
    ),
    # registry.enrolment → contributions: the declared wage's floor and cap (WageBounds or None)
    "contributions.wage_bounds": "shebao.contributions.params.selectors.wage_bounds",
    # registry.registration → accounts: the approved registration's administrator account
    "accounts.unit_first_operator_create": "shebao.accounts.services.unit_first_operator_create",
    # registry.changes → accounts: a person's new name shown on their own account
    "accounts.person_account_renamed": "shebao.accounts.services.person_account_renamed",
}

_cache: dict[str, object] = {}


def call(name: str, /, *args, **kwargs):
    """Call the function registered under ``name`` with the arguments given."""
    if name not in _cache:
        _cache[name] = import_string(HOOKS[name])
    return _cache[name](*args, **kwargs)
