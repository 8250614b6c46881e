"""Content checks for uploaded filing materials (shebao.filings.materials).

Every fixture is built in memory with Pillow / pypdf; nothing touches the database.
"""

from __future__ import annotations

import hashlib
import struct
import warnings
import zlib
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw
from pypdf import PdfWriter

from shebao.filings import materials
from shebao.filings.materials import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_UPLOAD_BYTES,
    MIN_IMAGE_SIDE,
    CheckedMaterial,
    MaterialRejected,
    check_material,
    clean_filename,
)

WRONG_TYPE = "文件类型不符：只接受 JPG、PNG 图片或 PDF 文件"

# --------------------------------------------------------------------------- fixtures


def _encode(im: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    buf = BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def _document(size: tuple[int, int] = (1000, 700), paper: int = 235) -> Image.Image:
    """A scanned-form lookalike: light paper with dark 'text' lines inside a margin."""
    width, height = size
    im = Image.new("RGB", size, (paper, paper, paper - 10))
    draw = ImageDraw.Draw(im)
    margin = max(10, min(size) // 10)
    for y in range(margin, height - margin, 24):
        draw.rectangle((margin, y, width - margin, y + 6), fill=(30, 30, 40))
    return im


def _framed(content: Image.Image, border: int) -> Image.Image:
    width, height = content.size
    framed = Image.new("RGB", (width + 2 * border, height + 2 * border), (0, 0, 0))
    framed.paste(content, (border, border))
    return framed


def _decode(data: bytes) -> Image.Image:
    im = Image.open(BytesIO(data))
    im.load()
    return im


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def _bilevel_png(width: int, height: int) -> bytes:
    """A genuine, tiny-on-disk PNG of a huge all-black bilevel image (a decompression bomb)."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def noisy_photo() -> bytes:
    """A 4000×3000 JPEG of colour noise: incompressible, several MB, like a phone photo."""
    tile = Image.merge("RGB", [Image.effect_noise((400, 304), sigma) for sigma in (60, 50, 40)])
    im = Image.new("RGB", (4000, 3000), (128, 128, 128))
    for x in range(0, 4000, 400):
        for y in range(0, 3000, 304):
            im.paste(tile, (x, y))
    data = _encode(im, quality=85)
    assert MAX_IMAGE_BYTES * 4 < len(data) < MAX_UPLOAD_BYTES
    return data


@pytest.fixture(scope="module")
def document_jpeg() -> bytes:
    return _encode(_document(), quality=90)


def _assert_clean_jpeg(result: CheckedMaterial) -> Image.Image:
    assert result.content_type == "image/jpeg"
    assert result.extension == ".jpg"
    assert len(result.content) <= MAX_IMAGE_BYTES
    assert result.sha256 == hashlib.sha256(result.content).hexdigest()
    im = _decode(result.content)
    assert im.format == "JPEG"
    assert im.mode == "RGB"
    assert im.size == (result.width, result.height)
    assert im.info.get("progressive") or im.info.get("progression")
    assert "exif" not in im.info
    assert "icc_profile" not in im.info
    assert not im.getexif()
    return im


def _rejected(data: bytes, name: str) -> MaterialRejected:
    with pytest.raises(MaterialRejected) as caught:
        check_material(data, name=name)
    exc = caught.value
    assert exc.filename == name
    assert str(exc) == f"{name}：{exc.reason}"
    return exc


# --------------------------------------------------------------------------- images


def test_large_noisy_photo_ends_within_500_kb(noisy_photo: bytes) -> None:
    result = check_material(noisy_photo, name="营业执照.jpg")
    im = _assert_clean_jpeg(result)
    assert min(im.size) >= MIN_IMAGE_SIDE
    assert im.size < (4000, 3000)  # had to be downscaled
    assert abs(im.width / im.height - 4 / 3) < 0.01  # aspect ratio kept
    assert result.original_name == "营业执照.jpg"


def test_small_document_keeps_its_size(document_jpeg: bytes) -> None:
    result = check_material(document_jpeg, name="scan.jpg")
    _assert_clean_jpeg(result)
    assert (result.width, result.height) == (1000, 700)


def test_downscaling_stops_at_the_readable_minimum() -> None:
    # A long, narrow noisy strip: shrinking it to fit would go below MIN_IMAGE_SIDE,
    # so quality is sacrificed instead and the shorter side stays readable.
    tile = Image.merge("RGB", [Image.effect_noise((496, 336), 60) for _ in range(3)])
    im = Image.new("RGB", (496 * 14, 336))
    for x in range(0, im.width, 496):
        im.paste(tile, (x, 0))
    result = check_material(_encode(im, quality=90), name="long.jpg")
    _assert_clean_jpeg(result)
    assert min(result.width, result.height) == MIN_IMAGE_SIDE  # type: ignore[type-var]


def test_exif_orientation_is_applied_and_exif_stripped() -> None:
    im = Image.new("RGB", (600, 400), (240, 240, 240))
    im.paste((220, 20, 20), (0, 0, 100, 100))  # red marker in the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    exif[0x010F] = "PhoneMaker"
    data = _encode(im, quality=95, exif=exif.tobytes())

    result = check_material(data, name="rotated.jpg")
    out = _assert_clean_jpeg(result)
    assert (result.width, result.height) == (400, 600)
    red, green, _ = out.getpixel((350, 50))  # the marker is now top-right
    assert red > 180 and green < 80
    assert out.getpixel((50, 50))[1] > 200  # and no longer top-left


def test_black_frame_is_trimmed() -> None:
    framed = _framed(_document((1000, 700)), border=150)
    result = check_material(_encode(framed, quality=90), name="framed.jpg")
    _assert_clean_jpeg(result)
    assert abs(result.width - 1000) <= 4  # type: ignore[operator]
    assert abs(result.height - 700) <= 4  # type: ignore[operator]


def test_noisy_photographed_frame_is_trimmed() -> None:
    content = _document((900, 600))
    noise = Image.effect_noise((1100, 800), 8).point(lambda v: max(0, v - 118))  # dark grain
    framed = Image.merge("RGB", [noise] * 3)
    framed.paste(content, (100, 100))
    result = check_material(_encode(framed, quality=85), name="photo.jpg")
    assert abs(result.width - 900) <= 6  # type: ignore[operator]
    assert abs(result.height - 600) <= 6  # type: ignore[operator]


def test_dark_grey_edges_and_inner_black_bars_are_content() -> None:
    im = _document((800, 600), paper=90)  # dim but not black paper
    ImageDraw.Draw(im).rectangle((0, 300, 799, 340), fill=(0, 0, 0))  # black bar inside
    result = check_material(_encode(im, quality=90), name="dim.jpg")
    assert (result.width, result.height) == (800, 600)


def test_black_bar_touching_one_edge_only_trims_that_edge() -> None:
    im = _document((900, 700))
    ImageDraw.Draw(im).rectangle((0, 0, 899, 99), fill=(0, 0, 0))
    result = check_material(_encode(im), name="x.jpg")
    assert abs(result.width - 900) <= 2  # type: ignore[operator]
    assert abs(result.height - 600) <= 3  # type: ignore[operator]


def test_almost_black_picture_is_refused() -> None:
    im = Image.new("RGB", (1200, 900), (10, 10, 10))
    im.paste((255, 255, 255), (600, 450, 605, 455))  # a speck is not a document
    exc = _rejected(_encode(im), "dark.jpg")
    assert "无法辨认" in exc.reason


def test_tiny_image_is_refused_as_too_small() -> None:
    exc = _rejected(_encode(_document((100, 80))), "tiny.jpg")
    assert exc.reason == "图片过小（100×80 像素），无法辨认，请上传清晰的原件照片"


def test_size_is_judged_after_trimming() -> None:
    framed = _framed(_document((250, 400)), border=300)  # 850×1000 raw, 250×400 content
    exc = _rejected(_encode(framed, quality=95), "cropped.jpg")
    assert "图片过小" in exc.reason
    assert "×400 像素" in exc.reason


def test_png_is_accepted_and_alpha_flattened_on_white() -> None:
    im = Image.new("RGBA", (640, 480), (0, 0, 0, 0))  # fully transparent "black"
    im.paste((20, 60, 160, 255), (100, 100, 540, 380))
    result = check_material(_encode(im, "PNG"), name="截图.png")
    out = _assert_clean_jpeg(result)
    assert (result.width, result.height) == (640, 480)  # transparent edges are not trimmed
    assert min(out.getpixel((10, 10))) > 245
    assert out.getpixel((320, 240))[2] > 130


def test_palette_and_16_bit_pngs_are_accepted() -> None:
    palette = _document((500, 400)).convert("P", palette=Image.Palette.ADAPTIVE)
    assert check_material(_encode(palette, "PNG"), name="p.png").width == 500

    deep = Image.new("I;16", (500, 400), 40000)
    result = check_material(_encode(deep, "PNG"), name="16bit.png")
    grey = _decode(result.content).getpixel((250, 200))
    assert all(140 < channel < 170 for channel in grey)  # scaled, not clipped to white


def test_embedded_colour_profile_is_converted_not_kept() -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _encode(_document((600, 400)), quality=95, icc_profile=srgb)
    assert "icc_profile" in _decode(data).info
    result = check_material(data, name="icc.jpg")
    out = _assert_clean_jpeg(result)
    assert min(out.getpixel((5, 5))) > 215


def test_jpeg_named_pdf_is_judged_by_content(document_jpeg: bytes) -> None:
    result = check_material(document_jpeg, name="not-really.pdf")
    assert result.content_type == "image/jpeg"
    assert result.original_name == "not-really.pdf"


def test_truncated_jpeg_is_refused(document_jpeg: bytes) -> None:
    exc = _rejected(document_jpeg[: len(document_jpeg) // 2], "half.jpg")
    assert exc.reason == "图片已损坏，无法读取"


def test_jpeg_header_only_is_refused() -> None:
    exc = _rejected(b"\xff\xd8\xff\xe0" + b"\x00" * 50, "header.jpg")
    assert exc.reason == "图片已损坏，无法读取"


def test_png_with_bad_checksum_is_refused() -> None:
    data = bytearray(_encode(_document((400, 400)), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF
    exc = _rejected(bytes(data), "broken.png")
    assert exc.reason == "图片已损坏，无法读取"


@pytest.mark.parametrize(("width", "height"), [(20000, 20000), (8000, 6000)])
def test_decompression_bomb_is_refused(width: int, height: int) -> None:
    # 20000×20000 trips Pillow's own limit; 8000×6000 (48 MP) only this module's.
    data = _bilevel_png(width, height)
    assert len(data) < 200_000
    pillow_limit = Image.MAX_IMAGE_PIXELS
    exc = _rejected(data, "bomb.png")
    assert "像素" in exc.reason and "过大" in exc.reason
    assert pillow_limit == Image.MAX_IMAGE_PIXELS  # nothing global was changed
    assert width * height > MAX_IMAGE_PIXELS


def test_pillow_bomb_warning_is_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    # Should the global limit ever be set lower than ours, Pillow's warning still refuses.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200_000)
    data = _encode(_document((600, 400)))  # 240 000 px: a warning, not an error
    filters = list(warnings.filters)
    exc = _rejected(data, "warned.jpg")
    assert "过大" in exc.reason
    assert warnings.filters == filters  # the stricter filter did not leak
    monkeypatch.undo()
    assert check_material(data, name="fine.jpg").width == 600


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    "exif",
    [
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12",  # cut off mid-entry
        b"Exif\x00\x00garbage-garbage",
    ],
)
def test_corrupt_exif_does_not_sink_a_readable_picture(exif: bytes) -> None:
    result = check_material(_encode(_document((600, 400)), exif=exif), name="exif.jpg")
    _assert_clean_jpeg(result)
    assert (result.width, result.height) == (600, 400)


# --------------------------------------------------------------------------- wrong types


@pytest.mark.parametrize(
    ("payload", "name"),
    [
        (_encode(Image.new("RGB", (400, 400), "white"), "GIF"), "photo.jpg"),
        (b"PK\x03\x04" + b"\x00" * 100, "scan.jpg"),
        (b"MZ\x90\x00" + b"\x00" * 100, "id-card.png"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "form.pdf"),
        ("这是一个文本文件，不是 PDF。\n".encode(), "申请表.pdf"),
        (b"  %PDF-1.7 leading junk", "junk.pdf"),
        (b"\xff\xd8", "two-bytes.jpg"),
    ],
)
def test_wrong_content_is_refused_whatever_the_name(payload: bytes, name: str) -> None:
    assert _rejected(payload, name).reason == WRONG_TYPE


# --------------------------------------------------------------------------- PDFs


def _pdf(pages: int = 1, password: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password is not None:
        writer.encrypt(password)
    buf = BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_valid_pdf_is_stored_unchanged() -> None:
    data = _pdf(pages=2)
    result = check_material(SimpleUploadedFile("劳动合同.pdf", data, "application/octet-stream"))
    assert result.content == data
    assert result.content_type == "application/pdf"
    assert result.extension == ".pdf"
    assert result.width is None and result.height is None
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.original_name == "劳动合同.pdf"


def test_encrypted_pdf_is_refused() -> None:
    exc = _rejected(_pdf(password="secret"), "加密.pdf")
    assert exc.reason == "PDF 已加密，请上传未加密的文件"


def test_owner_password_only_pdf_is_refused_too() -> None:
    assert "已加密" in _rejected(_pdf(password=""), "owner.pdf").reason


@pytest.mark.parametrize(
    "payload",
    [
        b"%PDF-1.7\nthis is not really a pdf\n",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n%%EOF",
        _pdf(pages=0),
    ],
)
def test_broken_or_empty_pdf_is_refused(payload: bytes) -> None:
    assert _rejected(payload, "坏文件.pdf").reason == "PDF 文件已损坏，无法读取"


def test_pdf_over_5_mb_is_refused() -> None:
    data = _pdf() + b"%" + b"x" * (5 * 1024 * 1024)
    assert _rejected(data, "big.pdf").reason == "PDF 文件超过 5 MB"


# --------------------------------------------------------------------------- uploads


def test_empty_file_is_refused() -> None:
    with pytest.raises(MaterialRejected) as caught:
        check_material(SimpleUploadedFile("空白.jpg", b""))
    assert str(caught.value) == "空白.jpg：文件为空"


def test_oversize_upload_is_refused_unread() -> None:
    class Huge:
        name = "huge.pdf"
        size = MAX_UPLOAD_BYTES + 1

        def read(self, *args: object) -> bytes:
            raise AssertionError("must not be read")

    with pytest.raises(MaterialRejected) as caught:
        check_material(Huge())
    assert str(caught.value) == "huge.pdf：文件超过 10 MB"


def test_oversize_stream_without_size_is_refused() -> None:
    stream = BytesIO(b"%PDF-" + b"0" * MAX_UPLOAD_BYTES)
    stream.name = "stream.pdf"  # type: ignore[attr-defined]
    with pytest.raises(MaterialRejected) as caught:
        check_material(stream)
    assert str(caught.value) == "stream.pdf：文件超过 10 MB"


def test_file_like_objects_are_rewound(document_jpeg: bytes) -> None:
    stream = BytesIO(document_jpeg)
    stream.read()  # already consumed, e.g. by a previous check
    stream.name = "uploads/扫描件.JPG"  # type: ignore[attr-defined]
    result = check_material(stream)
    assert result.original_name == "扫描件.JPG"
    assert result.width == 1000


def test_django_uploaded_file_and_name_override(document_jpeg: bytes) -> None:
    upload = SimpleUploadedFile("client.jpg", document_jpeg, "image/jpeg")
    assert check_material(upload).original_name == "client.jpg"
    assert check_material(upload, name="身份证正面.jpg").original_name == "身份证正面.jpg"


def test_refusal_names_the_file() -> None:
    with pytest.raises(MaterialRejected) as caught:
        check_material(SimpleUploadedFile("户口本.gif", b"GIF89a" + b"\x00" * 40))
    exc = caught.value
    assert exc.filename == "户口本.gif"
    assert exc.reason == WRONG_TYPE
    assert str(exc) == f"户口本.gif：{WRONG_TYPE}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("C:\\Users\\张三\\Desktop\\身份证.jpg", "身份证.jpg"),
        ("../../etc/passwd", "passwd"),
        ("bad\x00na\u202eme\n.png", "badname.png"),
        ("  多个   空格 .pdf ", "多个 空格 .pdf"),
        ("..", materials.UNNAMED),
        ("", materials.UNNAMED),
        (None, materials.UNNAMED),
        ("长" * 150 + ".jpeg", "长" * 95 + ".jpeg"),
        ("x" * 150, "x" * 100),
    ],
)
def test_client_names_are_sanitised(raw: str | None, expected: str) -> None:
    assert clean_filename(raw) == expected
    assert len(clean_filename(raw)) <= 100


def test_unnamed_bytes_are_refused_with_placeholder_name() -> None:
    with pytest.raises(MaterialRejected) as caught:
        check_material(b"")
    assert str(caught.value) == f"{materials.UNNAMED}：文件为空"
