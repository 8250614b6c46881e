"""Content checks for uploaded filing materials (申报材料).

Every upload is judged by its bytes, never by its name: only JPEG, PNG and PDF are
accepted. Images are decoded defensively (decompression bombs, truncation), rotated
according to their EXIF orientation, flattened to RGB, stripped of black borders and
re-encoded as a metadata-free progressive JPEG of at most ``MAX_IMAGE_BYTES``. PDFs are
parsed to make sure they open and are not encrypted, then stored unchanged.

Every refusal is a :class:`MaterialRejected` naming the file and the reason in Chinese,
ready to be shown to the person who uploaded it.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import struct
import unicodedata
import warnings
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Protocol

from PIL import Image, ImageOps
from pypdf import PdfReader

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_PDF_BYTES",
    "MAX_UPLOAD_BYTES",
    "MIN_IMAGE_SIDE",
    "CheckedMaterial",
    "MaterialRejected",
    "check_material",
]

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # raw upload limit
MAX_IMAGE_BYTES = 500 * 1024  # images end at most this size
MAX_PDF_BYTES = 5 * 1024 * 1024
MIN_IMAGE_SIDE = 300  # px, shorter side after trimming
MAX_IMAGE_PIXELS = 40_000_000  # above -> decompression bomb

MAX_NAME_LENGTH = 100
UNNAMED = "未命名文件"

# Refusal reasons (shown to the uploader, prefixed with the file name).
REASON_EMPTY = "文件为空"
REASON_TOO_LARGE = f"文件超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"
REASON_WRONG_TYPE = "文件类型不符：只接受 JPG、PNG 图片或 PDF 文件"
REASON_IMAGE_CORRUPT = "图片已损坏，无法读取"
REASON_IMAGE_BOMB = f"图片尺寸过大（超过 {MAX_IMAGE_PIXELS // 10_000} 万像素），请缩小后重新上传"
REASON_IMAGE_BLANK = "图片几乎全黑，无法辨认，请上传清晰的原件照片"
REASON_PDF_TOO_LARGE = f"PDF 文件超过 {MAX_PDF_BYTES // (1024 * 1024)} MB"
REASON_PDF_ENCRYPTED = "PDF 已加密，请上传未加密的文件"
REASON_PDF_CORRUPT = "PDF 文件已损坏，无法读取"

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PDF_MAGIC = b"%PDF-"

# Border trimming: a pixel is "dark" below this luminance, and an edge row/column is
# border while fewer than this share of its pixels are not dark (tolerates sensor noise
# and JPEG ringing in a photographed black frame).
DARK_LUMINANCE = 40
BORDER_MAX_BRIGHT_SHARE = 0.02
# If trimming would keep less than this share of the picture, there is nothing to read.
MIN_CONTENT_SHARE = 0.01

# JPEG encoding: first try these qualities at full size, then downscale at the last one;
# only when already at MIN_IMAGE_SIDE, sacrifice quality further before going below it.
QUALITY_STEPS = (85, 75, 60)
LAST_RESORT_QUALITIES = (50, 40, 30)
# Skip straight to the lowest quality step when the first encoding is this far over.
HOPELESS_OVERSHOOT = 2.5
DOWNSCALE_MIN_FACTOR = 0.6  # big jumps overshoot: downscaling also smooths
DOWNSCALE_MAX_FACTOR = 0.9

READ_CHUNK = 1024 * 1024

# What Pillow raises on broken image data (beyond its own UnidentifiedImageError/OSError).
_IMAGE_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    struct.error,
    zlib.error,
)


class MaterialRejected(Exception):
    """An uploaded material was refused; ``str(exc)`` is ready to show to the uploader."""

    def __init__(self, filename: str, reason: str) -> None:
        self.filename = filename
        self.reason = reason
        super().__init__(filename, reason)

    def __str__(self) -> str:
        return f"{self.filename}：{self.reason}"


@dataclass(frozen=True)
class CheckedMaterial:
    content: bytes  # the bytes to store
    content_type: str  # "image/jpeg" | "image/png" | "application/pdf"
    extension: str  # ".jpg" | ".png" | ".pdf"
    width: int | None
    height: int | None
    sha256: str
    original_name: str  # the client's name, sanitised (basename only, max 100 chars)


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def check_material(upload: Any, *, name: str | None = None) -> CheckedMaterial:
    """Check one uploaded material and return what to store, or raise MaterialRejected.

    ``upload`` is a Django ``UploadedFile``, any binary file-like object (``.name`` and
    ``.size`` are used when present) or raw ``bytes``; ``name`` overrides the file's name.
    """
    if name is None:
        name = getattr(upload, "name", None)
    filename = clean_filename(name)

    data = _read_upload(upload, filename)
    if data.startswith(JPEG_MAGIC) or data.startswith(PNG_MAGIC):
        content, width, height = _check_image(data, filename)
        return CheckedMaterial(
            content=content,
            content_type="image/jpeg",
            extension=".jpg",
            width=width,
            height=height,
            sha256=hashlib.sha256(content).hexdigest(),
            original_name=filename,
        )
    if data.startswith(PDF_MAGIC):
        _check_pdf(data, filename)
        return CheckedMaterial(
            content=data,
            content_type="application/pdf",
            extension=".pdf",
            width=None,
            height=None,
            sha256=hashlib.sha256(data).hexdigest(),
            original_name=filename,
        )
    raise MaterialRejected(filename, REASON_WRONG_TYPE)


def clean_filename(raw: object) -> str:
    """The client's file name reduced to a harmless display name (basename, ≤ 100 chars)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str):
        return UNNAMED
    # Old browsers send the full client path, with either separator.
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    # Drop control and formatting characters (NUL, newlines, right-to-left overrides…).
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Cs"})
    name = " ".join(name.split())
    if name.strip(".") == "":
        return UNNAMED
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext) <= 10:
            name = f"{stem[: MAX_NAME_LENGTH - len(ext) - 1].rstrip()}.{ext}"
        else:
            name = name[:MAX_NAME_LENGTH].rstrip()
    return name


# --------------------------------------------------------------------------- reading


def _read_upload(upload: Any, filename: str) -> bytes:
    if isinstance(upload, bytes | bytearray | memoryview):
        data = bytes(upload)
    else:
        declared = getattr(upload, "size", None)
        if isinstance(declared, int) and declared > MAX_UPLOAD_BYTES:
            raise MaterialRejected(filename, REASON_TOO_LARGE)
        data = _read_limited(upload)
    if not data:
        raise MaterialRejected(filename, REASON_EMPTY)
    if len(data) > MAX_UPLOAD_BYTES:
        raise MaterialRejected(filename, REASON_TOO_LARGE)
    return data


def _read_limited(upload: Any) -> bytes:
    """Read at most MAX_UPLOAD_BYTES + 1 bytes (enough to tell the file is too large)."""
    chunks: Iterable[bytes]
    if callable(getattr(upload, "chunks", None)):
        chunks = upload.chunks()  # Django UploadedFile: rewinds and streams
    else:
        seek = getattr(upload, "seek", None)
        if callable(seek):
            with contextlib.suppress(OSError, ValueError):  # unseekable: read from here
                seek(0)
        chunks = _iter_read(upload)
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        if len(buf) > MAX_UPLOAD_BYTES:
            break
    return bytes(buf[: MAX_UPLOAD_BYTES + 1])


def _iter_read(stream: _Readable) -> Iterable[bytes]:
    while chunk := stream.read(READ_CHUNK):
        yield chunk


# --------------------------------------------------------------------------- images


def _check_image(data: bytes, filename: str) -> tuple[bytes, int, int]:
    """Decode, normalise and re-encode an image; return (jpeg bytes, width, height)."""
    im = _decode_image(data, filename)
    im = _apply_exif_orientation(im)
    im = _to_rgb(im)

    box = _content_box(im)
    if box is None:
        raise MaterialRejected(filename, REASON_IMAGE_BLANK)
    if box != (0, 0, *im.size):
        im = im.crop(box)

    width, height = im.size
    if min(width, height) < MIN_IMAGE_SIDE:
        raise MaterialRejected(
            filename, f"图片过小（{width}×{height} 像素），无法辨认，请上传清晰的原件照片"
        )
    content, final = _encode_within_limit(im)
    return content, final.width, final.height


def _decode_image(data: bytes, filename: str) -> Image.Image:
    fmt = "JPEG" if data.startswith(JPEG_MAGIC) else "PNG"
    try:
        with warnings.catch_warnings():
            # Uploads are untrusted: Pillow's complaints about them ("Corrupt EXIF data"…)
            # are noise, except its decompression-bomb warning (between its own lax global
            # limit and twice that), which is a refusal. The size check below is stricter.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data), formats=[fmt]) as probe:
                _refuse_bomb(probe.size, filename)
                probe.verify()
            im = Image.open(BytesIO(data), formats=[fmt])
            _refuse_bomb(im.size, filename)
            im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MaterialRejected(filename, REASON_IMAGE_BOMB) from None
    except _IMAGE_DECODE_ERRORS:
        raise MaterialRejected(filename, REASON_IMAGE_CORRUPT) from None
    return im


def _refuse_bomb(size: tuple[int, int], filename: str) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise MaterialRejected(filename, REASON_IMAGE_CORRUPT)
    if width * height > MAX_IMAGE_PIXELS:
        raise MaterialRejected(filename, REASON_IMAGE_BOMB)


def _apply_exif_orientation(im: Image.Image) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Corrupt EXIF data" and the like
            return ImageOps.exif_transpose(im)
    except Exception:  # broken EXIF must not sink a readable picture
        return im


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB in sRGB, alpha flattened onto white, 16-bit greyscale scaled (not clipped)."""
    im = _icc_to_srgb(im)
    if im.mode.startswith("I;16"):
        im = im.convert("I").point(lambda v: v * (1 / 257)).convert("L")
    has_alpha = im.mode in {"RGBA", "LA", "PA", "La", "RGBa"} or (
        im.mode in {"P", "L", "RGB"} and "transparency" in im.info
    )
    if im.mode == "RGB" and not has_alpha:
        return im
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def _icc_to_srgb(im: Image.Image) -> Image.Image:
    """Convert an embedded colour profile (Display P3, CMYK press…) to plain sRGB."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in {"RGB", "RGBA", "CMYK"}:
        return im
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(BytesIO(icc))
        target = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(im, source, target, outputMode=out_mode)
    except Exception:  # an unusable profile: fall back to plain conversion
        return im
    return converted if converted is not None else im


def _content_box(im: Image.Image) -> tuple[int, int, int, int] | None:
    """The box left after trimming near-black edge rows and columns; None if ~nothing."""
    width, height = im.size
    dark_lut = [0] * DARK_LUMINANCE + [255] * (256 - DARK_LUMINANCE)
    bright = im.convert("L").point(dark_lut)
    # Averaging the mask down to one column / one row gives each row's / column's share
    # of non-dark pixels (0..255), computed in C.
    row_share = bright.resize((1, height), Image.Resampling.BOX).tobytes()
    col_share = bright.resize((width, 1), Image.Resampling.BOX).tobytes()
    limit = 255 * BORDER_MAX_BRIGHT_SHARE

    rows = [i for i, v in enumerate(row_share) if v > limit]
    cols = [i for i, v in enumerate(col_share) if v > limit]
    if not rows or not cols:
        return None
    box = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    kept = (box[2] - box[0]) * (box[3] - box[1])
    if kept < MIN_CONTENT_SHARE * width * height:
        return None
    return box


def _encode_jpeg(im: Image.Image, quality: int) -> bytes:
    buf = BytesIO()
    # Explicit empty exif / no icc_profile: nothing from the upload's metadata survives.
    im.save(buf, "JPEG", quality=quality, progressive=True, optimize=True, exif=b"")
    return buf.getvalue()


def _encode_within_limit(original: Image.Image) -> tuple[bytes, Image.Image]:
    """Encode as JPEG of at most MAX_IMAGE_BYTES: lower quality, then downscale."""
    original = original.copy()
    original.info.clear()  # no EXIF, XMP, comments or profiles carried into the output

    data = _encode_jpeg(original, QUALITY_STEPS[0])
    qualities = list(QUALITY_STEPS[1:])
    if len(data) > HOPELESS_OVERSHOOT * MAX_IMAGE_BYTES:
        qualities = qualities[-1:]  # quality alone will not do; don't waste encodings
    quality = QUALITY_STEPS[0]
    for quality in qualities:
        if len(data) <= MAX_IMAGE_BYTES:
            return data, original
        data = _encode_jpeg(original, quality)

    current = original
    extra_qualities = list(LAST_RESORT_QUALITIES)
    while len(data) > MAX_IMAGE_BYTES:
        width, height = current.size
        shorter = min(width, height)
        # JPEG size roughly follows the pixel count; aim a little under the limit.
        factor = math.sqrt(MAX_IMAGE_BYTES / len(data)) * 0.95
        factor = min(DOWNSCALE_MAX_FACTOR, max(DOWNSCALE_MIN_FACTOR, factor))
        if shorter * factor < MIN_IMAGE_SIDE:
            if shorter > MIN_IMAGE_SIDE:
                factor = MIN_IMAGE_SIDE / shorter  # stop exactly at the readable minimum
            elif extra_qualities:
                quality = extra_qualities.pop(0)  # rather blur than shrink further
                data = _encode_jpeg(current, quality)
                continue
            # else: unavoidable, the size limit wins over readability.
        new_size = (_shrink(width, factor), _shrink(height, factor))
        current = original.resize(new_size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        data = _encode_jpeg(current, quality)
    return data, current


def _shrink(side: int, factor: float) -> int:
    if side <= 1:
        return 1
    return max(1, min(side - 1, round(side * factor)))


# --------------------------------------------------------------------------- PDFs


def _check_pdf(data: bytes, filename: str) -> None:
    if len(data) > MAX_PDF_BYTES:
        raise MaterialRejected(filename, REASON_PDF_TOO_LARGE)
    try:
        reader = PdfReader(BytesIO(data))
        encrypted = reader.is_encrypted
        pages = 0 if encrypted else len(reader.pages)
        if not encrypted:
            for page in reader.pages:
                _ = page.mediabox  # every page object must resolve
    except Exception:  # pypdf raises many types on malformed files
        raise MaterialRejected(filename, REASON_PDF_CORRUPT) from None
    if encrypted:
        raise MaterialRejected(filename, REASON_PDF_ENCRYPTED)
    if pages == 0:
        raise MaterialRejected(filename, REASON_PDF_CORRUPT)
