"""Decide what a file really is from its first bytes, and check images before anyone trusts them as evidence.

Phones label parts by file extension (`.csv` arrives as text/comma-separated-values, `.m4a` as audio/mpeg), and
an attacker can label anything `image/jpeg`; so declared types are ignored and magic bytes decide.
"""

from __future__ import annotations

import threading
import warnings
from typing import TYPE_CHECKING

import msgspec
import pillow_heif
from PIL import Image, UnidentifiedImageError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["IMAGE_TYPES", "IMAGE_WARNINGS_LOCK", "ImageCheck", "check_image", "sniff_content_type"]

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/bmp"})

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"#!AMR", "audio/amr"),
    (b"OggS", "audio/ogg"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
)
# Two- and three-letter magics ("BM", "ID3") are also how ordinary text starts ("BMI,weight", "ID3 ..."): those are
# only believed with the header fields that follow them (BMP: the DIB header sizes Windows/OS2 define; ID3v2: a
# version 2-4 and a revision below 0xFF).
_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"})
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B "})


def sniff_content_type(head: bytes) -> str:
    """Best guess of the media type from the first bytes; text/plain only for NUL-free UTF-8."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if len(head) >= 18 and head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_DIB_SIZES:
        return "image/bmp"
    if len(head) >= 5 and head[:3] == b"ID3" and head[3] in {2, 3, 4} and head[4] != 0xFF:
        return "audio/mpeg"
    if len(head) >= 12 and (found := _sniff_container(head)):
        return found
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio/mpeg"
    return _sniff_text(head)


def _sniff_container(head: bytes) -> str | None:
    """RIFF (WebP, WAV) and ISO base media (HEIC, MP4, M4A, 3GP), told apart by their type or brand field."""
    if head[:4] == b"RIFF":
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav"}.get(head[8:12])
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "image/heic"
        if brand in _AUDIO_BRANDS:
            return "audio/mp4"
        if brand.startswith(b"3g"):
            return "video/3gpp"
        return "video/mp4"
    return None


def _sniff_text(head: bytes) -> str:
    if b"\x00" in head:
        return "application/octet-stream"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The head may end in the middle of a multi-byte character: forgive exactly that ("unexpected end of
        # data"), not an invalid byte that happens to sit among the last three.
        if exc.reason != "unexpected end of data":
            return "application/octet-stream"
        text = head[: exc.start].decode("utf-8")
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<"):
        return "text/xml" if stripped.startswith(("<?xml", "<h:html", "<html:html")) else "text/plain"
    return "text/plain"


# warnings.catch_warnings() swaps process-wide state; two threads interleaving enter/exit can leave the "error"
# filter installed for good or drop it mid-check. check_image runs in worker threads, so one at a time (it only
# reads a header: well under a millisecond). The photo analysis (service/evidence/photo.py) opens images under it too.
IMAGE_WARNINGS_LOCK = _WARNINGS_LOCK = threading.Lock()

# HEIC (iPhones, some Android cameras) is decoded by libheif through pillow-heif, so a HEIC "photo" is checked like
# any other: a HEIC header followed by something else is not an image.
pillow_heif.register_heif_opener()


class ImageCheck(msgspec.Struct, frozen=True):
    ok: bool
    width: int = 0
    height: int = 0
    format: str = ""
    reason: str = ""


def check_image(path: Path, *, max_pixels: int) -> ImageCheck:
    """Read only the image header (no pixel decoding) and refuse unreadable or oversized images.

    Blocking; run it in a thread. A decompression bomb is a small file declaring huge dimensions, so the pixel
    count is checked before anything would decode it.
    """
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                image_format = image.format or ""
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return ImageCheck(ok=False, reason="the image declares too many pixels")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return ImageCheck(ok=False, reason="the file is not a readable image")
    if width <= 0 or height <= 0:
        return ImageCheck(ok=False, reason="the image has no pixels")
    if width * height > max_pixels:
        return ImageCheck(ok=False, width=width, height=height, reason="the image declares too many pixels")
    return ImageCheck(ok=True, width=width, height=height, format=image_format)
