"""Uploads kept across a failed save (filings/kept.py): a mistake elsewhere on the form keeps
the good files for the same browser session, shown as thumbnails with 重新上传; the next save
uses them; another session can neither see nor use them; they go after a day."""

import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image
from pypdf import PdfWriter

from shebao.filings.kept import SESSION_KEY, kept_purge
from shebao.filings.models import Filing, FilingMaterial, KeptMaterial
from tests.conftest import registration_data
from tests.registry.flow import form_errors, material_files, media_files, small_files, upload

pytestmark = pytest.mark.django_db


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def fail_once(client: Client, **files):
    """Post the form with a mistake (no contact name) and the given files."""
    response = client.post("/register/", {**registration_data(contact_name=""), **files})
    assert response.status_code == 200
    assert "contact_name" in form_errors(response)
    return response


def test_a_mistake_keeps_the_good_files_and_the_next_save_uses_them(client, region_bj):
    response = fail_once(client, **small_files())
    assert Filing.objects.count() == 0
    kept = KeptMaterial.objects.all()
    assert {k.slot for k in kept} == {"licence", "legal_rep_id_front", "legal_rep_id_back"}
    html = response.content.decode()
    assert html.count(">重新上传</button>") == 3
    assert html.count("已保留，无需重新上传") == 3
    for k in kept:
        assert f"/register/kept/{k.pk}/" in html

    # No file sent again: the kept ones are the filing's materials.
    response = client.post("/register/", registration_data())
    assert response.status_code == 302, form_errors(response)
    filing = Filing.objects.get()
    assert {m.slot for m in filing.materials.all()} == {k.slot for k in kept}
    assert filing.materials.get(slot="licence").original_name == "licence.jpg"
    assert KeptMaterial.objects.count() == 0
    assert len(media_files()) == 3  # the kept copies are gone


def test_a_new_upload_replaces_the_kept_one(client, region_bj, django_capture_on_commit_callbacks):
    fail_once(client, **small_files())
    with django_capture_on_commit_callbacks(execute=True):  # the replaced file goes on commit
        fail_once(client, licence=upload("新执照.jpg", small_files()["licence"].read()))
    assert KeptMaterial.objects.get(slot="licence").original_name == "新执照.jpg"
    assert KeptMaterial.objects.count() == 3
    assert len(media_files()) == 3


def test_a_refused_file_is_named_and_the_good_ones_are_kept(client, region_bj):
    files = small_files(legal_rep_id_back=upload("back.jpg", b"GIF89a not really"))
    response = client.post("/register/", {**registration_data(), **files})
    assert "文件类型" in " ".join(form_errors(response)["legal_rep_id_back"])
    assert {k.slot for k in KeptMaterial.objects.all()} == {"licence", "legal_rep_id_front"}
    assert FilingMaterial.objects.count() == 0 and material_files() == []


def test_thumbnail_is_a_small_image_for_its_session_only(client, region_bj):
    fail_once(client, **small_files())
    kept = KeptMaterial.objects.get(slot="licence")
    response = client.get(f"/register/kept/{kept.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "no-store"
    with Image.open(io.BytesIO(response.content)) as im:
        assert max(im.size) <= 240
    assert Client().get(f"/register/kept/{kept.pk}/").status_code == 404
    assert client.get(f"/register/kept/{kept.pk + 999}/").status_code == 404


def test_another_session_cannot_use_the_kept_files(client, region_bj):
    fail_once(client, **small_files())
    stranger = Client()
    stranger.get("/register/")
    session = stranger.session
    session[SESSION_KEY] = "guessed"
    session.save()
    response = stranger.post("/register/", registration_data())
    assert response.status_code == 200
    assert "licence" in form_errors(response)  # nothing of the first session's
    assert "已保留" not in response.content.decode()
    assert Filing.objects.count() == 0


def test_a_kept_pdf_shows_an_icon_and_its_name(client, region_bj):
    response = fail_once(client, licence=upload("执照.pdf", pdf_bytes(), "application/pdf"))
    html = response.content.decode()
    assert "执照.pdf" in html
    assert ">PDF</span>" in html
    kept = KeptMaterial.objects.get(slot="licence")
    assert client.get(f"/register/kept/{kept.pk}/").status_code == 404  # no thumbnail of a PDF


def test_kept_files_go_after_a_day(client, region_bj):
    fail_once(client, **small_files())
    KeptMaterial.objects.update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    response = client.get("/register/")
    assert "已保留" not in response.content.decode()
    assert kept_purge() == 3
    assert media_files() == []


def test_the_edit_of_a_returned_application_keeps_files_too(client, region_bj):
    from tests.registry.flow import apply_online

    filing = apply_online(client)
    response = client.post(
        f"/register/{filing.serial_no}/edit/",
        {
            **registration_data(contact_name="", password="", password2=""),
            "licence": upload("换过的执照.jpg", small_files()["licence"].read()),
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "换过的执照.jpg" in html and html.count(">重新上传</button>") == 3  # 1 kept + 2 stored
    response = client.post(
        f"/register/{filing.serial_no}/edit/", registration_data(password="", password2="")
    )
    assert response.status_code == 302, form_errors(response)
    assert filing.materials.get(slot="licence").original_name == "换过的执照.jpg"
    assert KeptMaterial.objects.count() == 0


def test_error_summary_links_each_field(client, region_bj):
    response = client.post("/register/", registration_data(contact_name="", bank_account="12a"))
    html = response.content.decode()
    assert 'role="alert"' in html
    errors = form_errors(response)
    assert f"请修改以下 {sum(len(v) for v in errors.values())} 处后再提交" in html
    assert 'href="#id_contact_name"' in html
    assert 'href="#id_bank_account"' in html
    assert 'href="#id_licence"' in html


# --- storing a slot twice, a failed insert, the session's quota ------------------------------


def test_storing_the_same_slot_twice_keeps_one_row_and_one_file(
    region_bj, django_capture_on_commit_callbacks
):
    from shebao.filings import kept
    from tests.registry.flow import checked_materials

    checked = checked_materials()["licence"]
    with django_capture_on_commit_callbacks(execute=True):
        kept.kept_store(owner="o", scope="s", slot="licence", checked=checked)
        kept.kept_store(owner="o", scope="s", slot="licence", checked=checked)
    assert KeptMaterial.objects.count() == 1
    assert len(media_files()) == 1


def test_a_failed_insert_leaves_no_orphan_file(region_bj, monkeypatch):
    from django.db import IntegrityError

    from shebao.filings import kept
    from tests.registry.flow import checked_materials

    def clash(*args, **kwargs):
        raise IntegrityError("one_kept_material_per_slot")

    monkeypatch.setattr(KeptMaterial, "save", clash)
    with pytest.raises(IntegrityError):
        kept.kept_store(
            owner="o", scope="s", slot="licence", checked=checked_materials()["licence"]
        )
    assert KeptMaterial.objects.count() == 0
    assert media_files() == []


def test_a_clash_with_a_concurrent_save_is_retried_once(region_bj, monkeypatch):
    from django.db import IntegrityError

    from shebao.filings import kept
    from tests.registry.flow import checked_materials

    real_save, calls = KeptMaterial.save, []

    def clash_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("one_kept_material_per_slot")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(KeptMaterial, "save", clash_once)
    kept.kept_store(owner="o", scope="s", slot="licence", checked=checked_materials()["licence"])
    assert KeptMaterial.objects.count() == 1 and len(media_files()) == 1


def test_kept_files_over_the_quota_are_refused_next_to_the_field(client, region_bj, monkeypatch):
    from shebao.filings import kept

    fail_once(client, **small_files())
    used = sum(k.size for k in KeptMaterial.objects.exclude(slot="licence"))
    monkeypatch.setattr(kept, "QUOTA", used + 10)  # the new licence will not fit
    before = {k.pk for k in KeptMaterial.objects.all()}
    response = client.post(
        "/register/",
        {
            **registration_data(contact_name=""),
            "licence": upload("大文件.jpg", small_files()["licence"].read()),
        },
    )
    errors = form_errors(response)
    assert any("合计超过" in e for e in errors["licence"])
    assert {k.pk for k in KeptMaterial.objects.all()} == before  # the earlier licence is kept
    assert len(media_files()) == 3


def test_the_quota_is_twenty_megabytes():
    from shebao.filings import kept

    assert kept.QUOTA == 20 * 1024 * 1024


def test_error_summary_asks_for_the_passwords_again(client, region_bj):
    response = client.post("/register/", registration_data(contact_name=""))
    html = response.content.decode()
    assert "请重新输入管理员密码和确认密码" in html
    assert html.index("请重新输入管理员密码和确认密码") > html.index("请修改以下")
    assert "请重新输入" not in client.get("/register/").content.decode()
