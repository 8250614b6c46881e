"""Business kinds plug into the filing workflow through a handler. The registry maps a kind to
its handler's dotted path, so the workflow never imports the domain apps at load time."""

from django.utils.module_loading import import_string

HANDLERS = {
    "unit_registration": "shebao.registry.registration.UnitRegistrationHandler",
}


class FilingHandler:
    """What a kind must say about itself. Override what differs."""

    kind = ""
    # material slot -> Chinese label; all are required
    required_materials: dict[str, str] = {}
    duplicate_message = "已有相同内容的业务正在办理，不能重复申报"
    # payload key -> Chinese label, in display order (the review page shows these)
    labels: dict[str, str] = {}

    def check_permission(self, *, actor, unit) -> None:
        raise NotImplementedError

    def clean_payload(self, payload: dict, *, filing) -> dict:
        """Validate business rules; raise ValidationError (field-keyed) or return the payload."""
        return payload

    def title(self, payload: dict) -> str:
        return ""

    def subject_key(self, payload: dict) -> str:
        return ""

    def apply(self, *, filing, actor) -> None:
        """Make an approved filing take effect (inside the approving transaction)."""
        raise NotImplementedError

    def on_returned(self, *, filing) -> None:
        """Tell the applicant (inside the returning transaction)."""

    def display_rows(self, payload: dict) -> list[tuple[str, str]]:
        return [(label, payload.get(key, "")) for key, label in self.labels.items()]


_cache: dict[str, FilingHandler] = {}


def handler_for(kind: str) -> FilingHandler:
    if kind not in _cache:
        try:
            _cache[kind] = import_string(HANDLERS[kind])()
        except KeyError:
            raise ValueError(f"unknown filing kind {kind!r}") from None
    return _cache[kind]
