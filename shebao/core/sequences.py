"""Gap-tolerant named sequences for serial numbers and registry numbers."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from shebao.core.models import Counter


def next_value(key: str) -> int:
    """The next value of the named counter. The UPDATE holds the row lock until the caller's
    transaction ends, so concurrent callers get distinct values on every database."""
    with transaction.atomic():
        if not Counter.objects.filter(key=key).update(last=F("last") + 1):
            try:
                with transaction.atomic():
                    Counter.objects.create(key=key, last=1)
                    return 1
            except IntegrityError:
                Counter.objects.filter(key=key).update(last=F("last") + 1)
        return Counter.objects.values_list("last", flat=True).get(key=key)


def next_serial_no() -> str:
    """流水号: date plus a per-day sequence, e.g. 20261123000042."""
    day = timezone.localdate().strftime("%Y%m%d")
    return f"{day}{next_value('serial:' + day):06d}"


def next_unit_no(region_code: str) -> str:
    """单位编号: the 6-digit region code and a 6-digit sequence (12 digits, so never mistaken
    for an 11-digit mobile number when logs are masked)."""
    return f"{region_code}{next_value('unit:' + region_code):06d}"


def next_person_no(region_code: str) -> str:
    return f"{region_code[:4]}{next_value('person:' + region_code):08d}"
