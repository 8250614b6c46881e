"""Helpers for the first-registration tests (tests/registry, tests/filings): build drafts and
submitted applications through the services or the public pages, and look at what was stored."""

import io
from datetime import timedelta
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from PIL import Image

from shebao.core.ids import make_uscc
from shebao.core.models import VerificationCode
from shebao.filings.materials import CheckedMaterial, check_material
from shebao.filings.models import Filing
from shebao.registry.registration.kinds import MATERIALS
from shebao.registry.registration.services import registration_save, registration_submit
from tests.conftest import jpeg_bytes, last_sms_code, registration_data
from tests.factories import PASSWORD

MOBILE = "13912345678"  # registration_data()'s contact mobile


def uscc(n: int) -> str:
    """A valid USCC different from VALID_USCC for every n."""
    return make_uscc(f"91110108MA0{n:04d}XK")


@cache
def small_jpeg() -> bytes:
    return jpeg_bytes((400, 320))


def upload(name: str, content: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type)


def small_files(**overrides) -> dict:
    """The three materials as small (fast) JPEGs; override a slot with another upload."""
    files = {
        slot: SimpleUploadedFile(f"{slot}.jpg", small_jpeg(), "image/jpeg") for slot in MATERIALS
    }
    files.update(overrides)
    return files


@cache
def _checked() -> CheckedMaterial:
    return check_material(small_jpeg(), name="material.jpg")


def checked_materials() -> dict[str, CheckedMaterial]:
    return dict.fromkeys(MATERIALS, _checked())


@cache
def bomb_png() -> bytes:
    """20000×20000 pixels (4 亿像素) that compress to a few dozen KB."""
    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, "PNG")
    return buf.getvalue()


def form_data(**overrides) -> dict:
    """registration_data() as the view hands it to registration_save (cleaned types)."""
    data = registration_data(**overrides)
    data["injury_risk_class"] = int(data["injury_risk_class"])
    data.setdefault("insurance_types", [])
    return data


def make_draft(**overrides) -> Filing:
    return registration_save(
        data=form_data(**overrides), materials=checked_materials(), password=PASSWORD
    )


def make_submitted(**overrides) -> Filing:
    return registration_submit(filing=make_draft(**overrides))


def media_files() -> list[Path]:
    """Every file in the (per-test) media storage."""
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def material_files() -> list[Path]:
    """The filings' material files (not the uploads kept for a form that failed to save)."""
    return [p for p in media_files() if "kept" not in p.parts]


def age_codes(mobile: str) -> None:
    """Make the codes already sent to `mobile` old enough (2 minutes) that a new one may be
    requested, without waiting (the resend throttle is 60 s)."""
    VerificationCode.objects.filter(VerificationCode.mobile.q(mobile)).update(
        created_at=F("created_at") - timedelta(minutes=2)
    )


def apply_online(client, files=None, **overrides) -> Filing:
    """Fill the public registration form; return the new draft."""
    response = client.post(
        "/register/", {**registration_data(**overrides), **(files or small_files())}
    )
    assert response.status_code == 302, form_errors(response)
    serial = response["Location"].rstrip("/").split("/")[-2]
    return Filing.objects.get(serial_no=serial)


def submit_online(client, filing: Filing, mobile: str = MOBILE):
    """Ask for a code (sent to the filing's contact mobile) and submit with it."""
    age_codes(mobile)
    response = client.post(f"/register/{filing.serial_no}/code/")
    assert response.status_code == 200
    response = client.post(f"/register/{filing.serial_no}/submit/", {"code": last_sms_code(mobile)})
    assert response.status_code == 302, form_errors(response)
    return response


def form_errors(response) -> dict:
    """The errors of the page's form, by field ('__all__' for the top of the form)."""
    context = getattr(response, "context", None)
    if not context or "form" not in context:
        return {}
    return {name: list(errors) for name, errors in context["form"].errors.items()}


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
