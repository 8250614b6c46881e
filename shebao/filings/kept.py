"""Materials kept across a failed save (a form with a mistake elsewhere must not make the
applicant upload every file again).

Each material that passes the content check (materials.check_material) is stored at once as a
KeptMaterial under the browser session's owner token and the form's scope; the next render shows
it as a thumbnail, the next save uses it, and a successful save hands the files to the filing
and drops the kept rows. The owner token is random and lives only in the server-side session:
no other visitor can name it, and every read here is filtered by it (another session's row is a
404, like a missing one). Rows older than ``KEEP_FOR`` are purged on every store and by
``manage.py kept_materials_purge``. Not audited: nothing here is a business write until the
filing is saved, which is audited there."""

import secrets
from datetime import timedelta
from io import BytesIO

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone
from PIL import Image

from shebao.filings.materials import CheckedMaterial, MaterialRejected
from shebao.filings.models import KeptMaterial

SESSION_KEY = "kept_materials_owner"
KEEP_FOR = timedelta(days=1)
THUMBNAIL_SIDE = 240
QUOTA = 20 * 1024 * 1024  # the kept files of one session, in total


def kept_owner(session) -> str:
    """The session's owner token, created on first use."""
    owner = session.get(SESSION_KEY)
    if not owner:
        owner = secrets.token_urlsafe(32)
        session[SESSION_KEY] = owner
    return owner


def _drop(rows) -> None:
    """Delete the rows, then their files (a kept copy lost to a crash in between is only a
    file the applicant uploads again; the filing's materials are separate files)."""
    KeptMaterial.objects.filter(pk__in=[row.pk for row in rows]).delete()
    for row in rows:
        row.file.delete(save=False)


def kept_purge(*, now=None) -> int:
    """Drop the kept materials older than KEEP_FOR (and their files)."""
    old = list(KeptMaterial.objects.filter(created_at__lt=(now or timezone.now()) - KEEP_FOR))
    _drop(old)
    return len(old)


def kept_store(*, owner: str, scope: str, slot: str, checked: CheckedMaterial) -> KeptMaterial:
    """Keep one checked material for the owner's form, replacing the slot's earlier one.

    The new file is written first; the swap of the rows runs in one transaction that locks the
    slot's earlier row, and the earlier file goes only once that commits. Two saves of the same
    slot at once (a double click) meet the unique constraint: the loser retries once, and a
    failed insert removes the file it wrote. Over ``QUOTA`` in total for the session: refused
    with ``MaterialRejected`` (shown next to the field), nothing written."""
    kept_purge()
    others = (
        KeptMaterial.objects.filter(owner=owner)
        .exclude(scope=scope, slot=slot)
        .aggregate(total=Sum("size"))["total"]
        or 0
    )
    if others + len(checked.content) > QUOTA:
        raise MaterialRejected(
            checked.original_name,
            f"本次保留的文件合计超过 {QUOTA // (1024 * 1024)} MB，请压缩后重新上传或直接保存",
        )
    row = KeptMaterial(
        owner=owner,
        scope=scope,
        slot=slot,
        token=secrets.token_hex(16),
        original_name=checked.original_name,
        content_type=checked.content_type,
        size=len(checked.content),
        sha256=checked.sha256,
        width=checked.width,
        height=checked.height,
    )
    row.file.save(checked.extension, ContentFile(checked.content), save=False)
    try:
        for attempt in range(2):
            try:
                _swap(row, owner=owner, scope=scope, slot=slot)
                break
            except IntegrityError:
                if attempt:
                    raise
                row.pk = None
    except Exception:
        row.file.delete(save=False)
        raise
    return row


def _swap(row: KeptMaterial, *, owner: str, scope: str, slot: str) -> None:
    """Replace the slot's earlier row by ``row`` in one transaction; its file goes on commit."""
    with transaction.atomic():
        old = list(
            KeptMaterial.objects.select_for_update().filter(owner=owner, scope=scope, slot=slot)
        )
        KeptMaterial.objects.filter(pk__in=[o.pk for o in old]).delete()
        row.save(force_insert=True)
        files = [o.file for o in old]
        transaction.on_commit(lambda: [f.delete(save=False) for f in files])


def kept_for(owner: str | None, scope: str) -> dict[str, KeptMaterial]:
    """The owner's kept materials of one form, by slot."""
    if not owner:
        return {}
    rows = KeptMaterial.objects.filter(
        owner=owner, scope=scope, created_at__gte=timezone.now() - KEEP_FOR
    )
    return {row.slot: row for row in rows}


def kept_checked(owner: str | None, scope: str) -> dict[str, CheckedMaterial]:
    """The kept materials as the filing services take them."""
    checked = {}
    for slot, row in kept_for(owner, scope).items():
        try:
            with row.file.open("rb") as f:
                content = f.read()
        except OSError:  # the file is gone: the slot is simply not kept
            continue
        checked[slot] = CheckedMaterial(
            content=content,
            content_type=row.content_type,
            extension=row.file.name[-4:],
            width=row.width,
            height=row.height,
            sha256=row.sha256,
            original_name=row.original_name,
        )
    return checked


def kept_discard(*, owner: str | None, scope: str) -> None:
    """Drop the owner's kept materials of one form (after the filing took them over)."""
    if not owner:
        return
    _drop(list(KeptMaterial.objects.filter(owner=owner, scope=scope)))


def kept_get(owner: str | None, kept_id: int) -> KeptMaterial:
    """One kept material of the session's owner; another session's or a missing one: 404."""
    row = KeptMaterial.objects.filter(owner=owner or "-", pk=kept_id).first()
    if row is None or row.created_at < timezone.now() - KEEP_FOR:
        raise Http404
    return row


def kept_thumbnail(row: KeptMaterial) -> bytes:
    """A scaled-down JPEG of a kept image (at most THUMBNAIL_SIDE px on its longer side)."""
    if not row.is_image:
        raise Http404
    with row.file.open("rb") as f, Image.open(f) as im:
        im = im.convert("RGB")
        im.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        buf = BytesIO()
        im.save(buf, "JPEG", quality=80)
    return buf.getvalue()
