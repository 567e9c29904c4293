"""Content sniffing and image checks: declared types and file names are never trusted, magic bytes decide."""

from __future__ import annotations

import io
import struct
import time
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from service.media.sniff import IMAGE_TYPES, check_image, sniff_content_type
from service.media.store import HEAD_BYTES

if TYPE_CHECKING:
    from pathlib import Path


def image_bytes(kind: str, size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format=kind)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A valid little PNG whose IHDR declares any size: a decompression bomb when the size is huge."""
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + png_chunk(b"IEND", b"")
    )


VIETNAMESE = "Thôn Hồng Vân, xã Đông Hưng: hộ gia đình số 7 — ảnh mái nhà\n"

SAMPLES = [
    pytest.param(image_bytes("JPEG"), "image/jpeg", id="jpeg"),
    pytest.param(image_bytes("PNG"), "image/png", id="png"),
    pytest.param(image_bytes("GIF"), "image/gif", id="gif"),
    pytest.param(image_bytes("WEBP"), "image/webp", id="webp"),
    pytest.param(image_bytes("BMP"), "image/bmp", id="bmp"),
    pytest.param(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic", id="heic"),
    pytest.param(b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heic", "image/heic", id="heif-mif1"),
    pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf", id="pdf"),
    pytest.param(b"PK\x03\x04\x14\x00\x06\x00", "application/zip", id="zip-xlsx"),
    pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "application/x-ole-storage", id="xls"),
    pytest.param(b"#!AMR\n\x3c\x91\x17\x16", "audio/amr", id="amr"),
    pytest.param(b"OggS\x00\x02\x00\x00\x00\x00", "audio/ogg", id="ogg"),
    pytest.param(b"ID3\x04\x00\x00\x00\x00\x00\x23TSSE", "audio/mpeg", id="mp3-id3"),
    pytest.param(b"\xff\xfb\x90\x64\x00\x00\x00\x00", "audio/mpeg", id="mp3-frame"),
    pytest.param(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2", "video/mp4", id="mp4"),
    pytest.param(b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00", "video/3gpp", id="3gp"),
    pytest.param(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "audio/mp4", id="m4a"),
    pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00", "audio/wav", id="wav"),
    pytest.param(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "video/webm", id="webm"),
    pytest.param(b'<?xml version="1.0"?><data id="household"/>', "text/xml", id="xml"),
    pytest.param(b'\xef\xbb\xbf\n  <?xml version="1.0"?><data/>', "text/xml", id="xml-bom"),
    pytest.param(b'<h:html xmlns:h="http://www.w3.org/1999/xhtml">', "text/xml", id="xform"),
    pytest.param(b"<html><body><script>alert(1)</script></body></html>", "text/plain", id="html-is-not-xml"),
    pytest.param("name,label\n1,Thôn Hồng Vân\n".encode(), "text/plain", id="csv-utf8"),
    pytest.param(b"", "text/plain", id="empty"),
    pytest.param(b"\x00\x01\x02\xff\xfe\x00", "application/octet-stream", id="junk-with-nul"),
    pytest.param(b"\x80\x81\x82 some bytes", "application/octet-stream", id="junk-invalid-utf8"),
    pytest.param("café,1\n".encode("latin-1"), "application/octet-stream", id="latin-1"),
    # Regressions: "BM"/"ID3" alone used to win, and an invalid byte among the last three was forgiven.
    pytest.param(b"BMI,weight,height\n22.5,60,1.63\n", "text/plain", id="csv-starting-BM"),
    pytest.param(b"ID3 tags are written by the recorder\n", "text/plain", id="text-starting-ID3"),
    pytest.param(b"household 12 notes\xff", "application/octet-stream", id="invalid-byte-at-the-end"),
]


@pytest.mark.parametrize(("head", "expected"), SAMPLES)
def test_sniff(head: bytes, expected: str) -> None:
    assert sniff_content_type(head[:HEAD_BYTES]) == expected


def test_text_cut_inside_a_multibyte_character_is_still_text() -> None:
    # The sniffer sees the first HEAD_BYTES of a file: a Vietnamese CSV is cut wherever that falls, including
    # inside a two- or three-byte character ("ô" is 2 bytes, "ồ" and "ả" are 3).
    encoded = (VIETNAMESE * 200).encode()
    assert len(encoded) > HEAD_BYTES
    cuts_inside = 0
    for end in range(HEAD_BYTES - 64, HEAD_BYTES + 1):
        head = encoded[:end]
        try:
            head.decode()
        except UnicodeDecodeError:
            cuts_inside += 1
        assert sniff_content_type(head) == "text/plain", end
    assert cuts_inside > 5
    assert sniff_content_type("Thôn Hồng Vân".encode()[:-1]) == "text/plain"  # "â" cut after its first byte
    assert sniff_content_type("Hồ".encode()[:-1]) == "text/plain"  # "ồ" cut after two of its three bytes


def test_every_image_type_is_one_the_sniffer_can_produce() -> None:
    assert {param.values[1] for param in SAMPLES} >= IMAGE_TYPES


@pytest.mark.parametrize(("kind", "size"), [("JPEG", (640, 480)), ("PNG", (300, 1000)), ("GIF", (8, 8))])
def test_real_images_pass_with_their_size(tmp_path: Path, kind: str, size: tuple[int, int]) -> None:
    path = tmp_path / "photo.bin"
    path.write_bytes(image_bytes(kind, size))
    check = check_image(path, max_pixels=1_000_000)
    assert (check.ok, check.width, check.height, check.format, check.reason) == (True, *size, kind, "")


def test_a_real_heic_passes_and_a_heic_header_over_html_does_not(tmp_path: Path) -> None:
    real = tmp_path / "house.heic"
    real.write_bytes(image_bytes("HEIF", (64, 48)))
    assert sniff_content_type(real.read_bytes()[:64]) == "image/heic"
    check = check_image(real, max_pixels=1_000_000)
    assert (check.ok, check.width, check.height) == (True, 64, 48)
    fake = tmp_path / "fake.heic"
    fake.write_bytes(real.read_bytes()[:32] + b"<html><body>not a house</body></html>" * 20)
    assert sniff_content_type(fake.read_bytes()[:64]) == "image/heic"  # the magic alone says HEIC ...
    assert not check_image(fake, max_pixels=1_000_000).ok  # ... but libheif cannot read it


def test_html_named_jpg_is_not_an_image(tmp_path: Path) -> None:
    fake = tmp_path / "roof.jpg"
    fake.write_bytes(b"<html><script>alert(1)</script></html>")
    check = check_image(fake, max_pixels=10**8)
    assert not check.ok
    assert check.reason == "the file is not a readable image"


@pytest.mark.parametrize("keep", [2, 3, 20, 150])
def test_truncated_jpeg_header_is_not_an_image(tmp_path: Path, keep: int) -> None:
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(image_bytes("JPEG")[:keep])
    assert not check_image(truncated, max_pixels=10**8).ok


def test_pixel_cap_is_honoured_at_the_boundary(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    path.write_bytes(image_bytes("PNG", (2000, 1000)))
    refused = check_image(path, max_pixels=1_999_999)
    assert (refused.ok, refused.width, refused.height) == (False, 2000, 1000)
    assert refused.reason == "the image declares too many pixels"
    assert check_image(path, max_pixels=2_000_000).ok


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (100_000, 100_000),  # 10 Gpx: over twice Pillow's limit, Image.open refuses outright
        (10_000, 10_000),  # 100 Mpx: between Pillow's limit and twice it, where it only warns
        (8_000, 8_000),  # 64 Mpx: under Pillow's limit, only our cap stops it
    ],
)
def test_a_decompression_bomb_is_refused_from_its_header(tmp_path: Path, width: int, height: int) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(width, height))
    assert bomb.stat().st_size < 200
    started = time.perf_counter()
    check = check_image(bomb, max_pixels=60_000_000)
    elapsed = time.perf_counter() - started
    assert not check.ok
    assert check.reason == "the image declares too many pixels"
    assert elapsed < 0.5  # decoding 3 bytes a pixel would take seconds and gigabytes; only the header was read


def test_a_bomb_patched_into_a_real_png(tmp_path: Path) -> None:
    # The other way to build one: save a real tiny PNG, then rewrite the IHDR size and its CRC.
    data = bytearray(image_bytes("PNG", (4, 4)))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", 100_000, 100_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    bomb = tmp_path / "patched.png"
    bomb.write_bytes(bytes(data))
    check = check_image(bomb, max_pixels=60_000_000)
    assert not check.ok
    assert "too many pixels" in check.reason


def test_checking_from_many_threads_leaves_the_warning_filters_alone(tmp_path: Path) -> None:
    # check_image runs in worker threads; warnings.catch_warnings() is process-wide, so unserialised checks
    # interleaved their enter/exit and left filters changed (and let some bombs through with only a warning).
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(10_000, 10_000))  # in Pillow's "warn" band
    photo = tmp_path / "photo.png"
    photo.write_bytes(image_bytes("PNG"))
    before = list(warnings.filters)
    with ThreadPoolExecutor(max_workers=8) as pool:
        checks = list(pool.map(lambda i: check_image(bomb if i % 2 else photo, max_pixels=10**9), range(1000)))
    assert warnings.filters == before
    assert [check.ok for check in checks] == [i % 2 == 0 for i in range(1000)]
