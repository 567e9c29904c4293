"""Content sniffing and image checks: declared types are never trusted."""

from __future__ import annotations

import io
import struct
import time
import zlib
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from service.media.sniff import check_image, sniff_content_type

if TYPE_CHECKING:
    from pathlib import Path


def _image(kind: str, size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format=kind)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (_image("JPEG"), "image/jpeg"),
        (_image("PNG"), "image/png"),
        (_image("GIF"), "image/gif"),
        (_image("WEBP"), "image/webp"),
        (_image("BMP"), "image/bmp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        (b"#!AMR\n", "audio/amr"),
        (b"OggS\x00\x02", "audio/ogg"),
        (b"ID3\x04\x00", "audio/mpeg"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00", "video/mp4"),
        (b"\x00\x00\x00\x14ftyp3gp4\x00\x00", "video/3gpp"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00", "audio/mp4"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b'<?xml version="1.0"?><data/>', "text/xml"),
        ("name,label\n1,Thôn Hồng Vân\n".encode(), "text/plain"),
        ("Thôn Hồng Vân".encode()[:-1], "text/plain"),  # cut inside a multi-byte character
        (b"\x00\x01\x02\xff\xfe", "application/octet-stream"),
        (b"<html><body>hi</body></html>", "text/plain"),
    ],
)
def test_sniff(head: bytes, expected: str) -> None:
    assert sniff_content_type(head[:4096]) == expected


def test_real_images_pass_with_their_size(tmp_path: Path) -> None:
    for kind in ("JPEG", "PNG"):
        path = tmp_path / f"photo.{kind.lower()}"
        path.write_bytes(_image(kind, (640, 480)))
        check = check_image(path, max_pixels=1_000_000)
        assert (check.ok, check.width, check.height, check.format) == (True, 640, 480, kind)


def test_html_truncated_and_oversized_images_fail(tmp_path: Path) -> None:
    html = tmp_path / "fake.jpg"
    html.write_bytes(b"<html><script>alert(1)</script></html>")
    assert not check_image(html, max_pixels=10**8).ok
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(_image("JPEG")[:20])
    assert not check_image(truncated, max_pixels=10**8).ok
    big = tmp_path / "big.png"
    big.write_bytes(_image("PNG", (2000, 1000)))
    assert check_image(big, max_pixels=1_999_999).reason == "the image declares too many pixels"


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )
    started = time.perf_counter()
    check = check_image(bomb, max_pixels=60_000_000)
    assert not check.ok
    assert "too many pixels" in check.reason
    assert time.perf_counter() - started < 1
