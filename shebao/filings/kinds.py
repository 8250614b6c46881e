"""Business kinds plug into the filing workflow through a handler. The registry maps a kind to
its handler's dotted path, so the workflow never imports the domain apps at load time."""

from django.core.exceptions import PermissionDenied
from django.utils.module_loading import import_string

HANDLERS = {
    "unit_registration": "shebao.registry.registration.kinds.UnitRegistrationHandler",
    "enrolment": "shebao.registry.enrolment.kinds.EnrolmentHandler",
    "stop": "shebao.registry.enrolment.kinds.StopHandler",
    "transfer_out": "shebao.registry.enrolment.kinds.TransferOutHandler",
    "transfer_in": "shebao.registry.enrolment.kinds.TransferInHandler",
    "person_key_change": "shebao.registry.changes.kinds.PersonKeyChangeHandler",
    "person_general_change": "shebao.registry.changes.kinds.PersonGeneralChangeHandler",
    "person_lock": "shebao.registry.changes.kinds.PersonLockHandler",
    "unit_general_change": "shebao.registry.changes.kinds.UnitGeneralChangeHandler",
    "unit_key_change": "shebao.registry.changes.kinds.UnitKeyChangeHandler",
    "wage_annual": "shebao.contributions.wages.kinds.AnnualWageHandler",
    "wage_monthly": "shebao.contributions.wages.kinds.MonthlyWageHandler",
    "back_pay": "shebao.contributions.backpay.kinds.BackPayHandler",
    "adjust_pay": "shebao.contributions.backpay.kinds.AdjustPayHandler",
    "supplement_pay": "shebao.contributions.backpay.kinds.SupplementPayHandler",
    "flexible_enrolment": "shebao.contributions.flexible.kinds.FlexibleEnrolmentHandler",
}


class ReviewPolicy:
    """When a submitted filing is decided without a reviewer (DOMAIN §3, seed 002)."""

    ALWAYS = "always"  # always reviewed, VIP or not (key information changes)
    VIP_AUTO = "vip_auto"  # VIP units: approved on submit; others reviewed (enrolment changes)
    REGION = "region"  # VIP: on submit; others: per-region RegionFilingRule (default reviewed)
    AUTO = "auto"  # approved on submit (general information changes)


class FilingHandler:
    """What a kind must say about itself. Override what differs."""

    kind = ""
    # the operator permission needed to file it (filings.business.BusinessKind), None for public
    business_kind: str | None = None
    review_policy = ReviewPolicy.ALWAYS
    # whether the filing carries persons (FilingRow); such a filing needs at least one
    uses_rows = False
    # where the unit edits a draft or returned filing: a URL name taking serial_no, or ""
    edit_url_name = ""
    # whether the edit page adds persons to the draft (its page then offers 添加人员)
    adds_persons = False
    # material slot -> Chinese label; all are required
    required_materials: dict[str, str] = {}
    duplicate_message = "已有相同内容的业务正在办理，不能重复申报"
    # payload key -> Chinese label, in display order (the review page shows these)
    labels: dict[str, str] = {}

    def check_permission(self, *, actor, unit) -> None:
        """Unit kinds: an active operator of the unit allowed to file this business kind.
        Another unit's filing is answered by the selectors with 404 before we get here."""
        if (
            not getattr(actor, "is_operator", False)
            or unit is None
            or actor.unit_id != unit.pk
            or not actor.may_file(self.business_kind)
        ):
            raise PermissionDenied("您没有办理此项业务的权限")

    def clean_payload(self, payload: dict, *, filing) -> dict:
        """Validate business rules; raise ValidationError (field-keyed) or return the payload."""
        return payload

    def title(self, payload: dict) -> str:
        return ""

    def subject_key(self, payload: dict) -> str:
        return ""

    def apply(self, *, filing, actor) -> None:
        """Make an approved filing take effect (inside the approving transaction). Row-based
        kinds apply each approved row."""
        for row in filing.rows.filter(result="approved").select_related("person"):
            self.apply_row(filing=filing, row=row, actor=actor)

    def apply_row(self, *, filing, row, actor) -> None:
        raise NotImplementedError

    def row_display(self, row) -> list[tuple[str, str, str]]:
        """(label, before, after) triples shown to the reviewer and the unit for one row."""
        before = row.payload.get("before", {})
        after = row.payload.get("after", row.payload)
        return [
            (label, before.get(key, ""), after.get(key, "")) for key, label in self.labels.items()
        ]

    def on_returned(self, *, filing) -> None:
        """Tell the applicant (inside the returning transaction)."""

    def display_rows(self, payload: dict) -> list[tuple[str, str]]:
        return [(label, payload.get(key, "")) for key, label in self.labels.items()]

    def legal_rep_id_number(self, payload: dict) -> str:
        """The (new) legal representative's ID number the filing carries, which the reviewer
        compares with the uploaded ID image (shown masked, 显示完整 audited); "" for kinds
        without one."""
        return ""


_cache: dict[str, FilingHandler] = {}


def handler_for(kind: str) -> FilingHandler:
    if kind not in _cache:
        try:
            _cache[kind] = import_string(HANDLERS[kind])()
        except KeyError:
            raise ValueError(f"unknown filing kind {kind!r}") from None
    return _cache[kind]
