"""Real JPEGs made in the tests, with EXIF written through Pillow's own Image.Exif (no piexif): GPS, capture time and
offset, camera, software, orientation; and the damaged kinds a worker must survive (truncated, a decompression bomb).
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, TiffImagePlugin

if TYPE_CHECKING:
    from datetime import datetime
    from zoneinfo import ZoneInfo

__all__ = ["bomb_png", "exif_time", "move", "near_copy", "photo", "truncated"]

_R = TiffImagePlugin.IFDRational


def _dms(value: float) -> tuple[_R, _R, _R]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return (_R(degrees, 1), _R(minutes, 1), _R(round(seconds * 10000), 10000))


def exif_time(moment: datetime, zone: ZoneInfo) -> str:
    """DateTimeOriginal as a camera writes it: local time in `zone`, no zone."""
    return moment.astimezone(zone).strftime("%Y:%m:%d %H:%M:%S")


def move(lat: float, lon: float, *, north_m: float = 0, east_m: float = 0) -> tuple[float, float]:
    """A point this many metres away (good enough within a province)."""
    import math

    return lat + north_m / 110_574, lon + east_m / (111_320 * math.cos(math.radians(lat)))


def _scene(seed: int, width: int, height: int) -> Image.Image:
    """Photo-like content that differs by seed: a sky-to-ground gradient, a house-like block, random shapes."""
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    tint = Image.new("RGB", (width, height), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    image = Image.blend(image, tint, 0.5)
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(width // 10, width // 3), rng.randrange(height // 10, height // 3)
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.rectangle((x, y, x + w, y + h), fill=color)
        else:
            draw.ellipse((x, y, x + w, y + h), fill=color)
    return image


def photo(
    seed: int,
    *,
    width: int = 1600,
    height: int = 1200,
    exif: bool = True,
    gps: tuple[float, float] | None = None,
    gps_accuracy: float | None = None,
    altitude: float | None = 12.0,
    taken: str | None = None,
    offset: str | None = None,
    make: str | None = "samsung",
    model: str | None = "SM-A155F",
    software: str | None = None,
    orientation: int | None = None,
    quality: int = 85,
) -> bytes:
    image = _scene(seed, width, height)
    buffer = io.BytesIO()
    if not exif:
        image.save(buffer, format="JPEG", quality=quality)
        return buffer.getvalue()
    tags = Image.Exif()
    if make:
        tags[0x010F] = make
    if model:
        tags[0x0110] = model
    if software:
        tags[0x0131] = software
    if orientation:
        tags[0x0112] = orientation
    details = tags.get_ifd(0x8769)
    if taken:
        details[0x9003] = taken
    if offset:
        details[0x9011] = offset
    if gps is not None:
        position = tags.get_ifd(0x8825)
        position[1] = "N" if gps[0] >= 0 else "S"
        position[2] = _dms(gps[0])
        position[3] = "E" if gps[1] >= 0 else "W"
        position[4] = _dms(gps[1])
        if altitude is not None:
            position[5] = b"\x00"
            position[6] = _R(round(altitude * 10), 10)
        if gps_accuracy is not None:
            position[31] = _R(round(gps_accuracy * 10), 10)
    image.save(buffer, format="JPEG", quality=quality, exif=tags)
    return buffer.getvalue()


def near_copy(data: bytes, *, scale: float = 0.6, quality: int = 55) -> bytes:
    """The same picture resized and recompressed, EXIF dropped: what a re-sent or re-saved copy looks like."""
    with Image.open(io.BytesIO(data)) as original:
        smaller = original.convert("RGB").resize(
            (int(original.width * scale), int(original.height * scale)), Image.Resampling.BICUBIC
        )
    buffer = io.BytesIO()
    smaller.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def truncated(data: bytes) -> bytes:
    """The first half of a JPEG: the header is intact (intake accepts it), the pixels stop halfway."""
    return data[: len(data) // 2]


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG whose header declares width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
