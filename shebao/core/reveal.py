"""A full display of an encrypted ID number or mobile: decrypted for one actor, audited.

Lists show the masked value stored beside the ciphertext; a page or button that shows a value
in full calls :func:`reveal` (bulk exports of full values are audited as one event instead)."""

from shebao.core.audit import audit_record
from shebao.core.crypto import SealedAttribute


def reveal(*, actor, obj, attribute: str, region=None) -> str:
    """The clear value of ``obj.<attribute>`` (a sealed attribute), with one audit row
    ``personal_data.reveal`` naming the object and the field (never the value)."""
    if not isinstance(getattr(type(obj), attribute, None), SealedAttribute):
        raise ValueError(f"{type(obj).__name__}.{attribute} is not an encrypted attribute")
    value = getattr(obj, attribute)
    audit_record(
        actor=actor,
        action="personal_data.reveal",
        obj=obj,
        detail={"field": attribute},
        region=region,
    )
    return value
