"""What one photo holds: EXIF (GPS, time, camera, software, orientation), pixel size, a perceptual hash, thumbnails.

Pure and blocking (Pillow): the worker runs it in a thread. Nothing here touches the database or the store.
An image that cannot be read (truncated, a decompression bomb, not an image at all) is a result with a reason,
never an exception: a hostile file must not crash a job or stall the queue.

Thumbnails: about 240 px and about 1280 px on the long side, upright (the EXIF orientation applied), JPEG.
JPEG is decoded in draft mode at the DCT scale (1/1, 1/2, 1/4, 1/8) nearest to 1280 px, so a 12 MP photo is
decoded at 1008 px and never resampled; only when no scale lands within ±30 % of 1280 px is the decoded image
resized. When the original is itself a JPEG of that size and upright (what Collect sends with max-pixels 1280 to
1600), it serves as the large view, and only the small one is made, from a decode at 1/4 or 1/8 scale.

Perceptual hash: a 64-bit dHash (difference hash) of the upright image: 9x8 grey pixels, one bit per horizontal
neighbour pair (is the left one brighter?). It survives recompression, resizing and small colour or brightness
changes, needs nothing but Pillow, and costs microseconds on the small thumbnail already made. (pHash, a DCT of a
32x32 image, is somewhat more robust to small edits but needs a DCT: numpy/scipy, not dependencies here.) An image
too uniform to compare (a black frame: every pair nearly equal) gets no hash, so it never "matches" every other.
"""

from __future__ import annotations

import io
import math
import warnings
from datetime import UTC, datetime, timedelta, timezone
from struct import error as struct_error
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from PIL import Image, UnidentifiedImageError

from service.media.sniff import IMAGE_WARNINGS_LOCK

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = ["LARGE_PX", "SMALL_PX", "PhotoAnalysis", "PhotoFacts", "analyse_photo", "dhash", "hamming"]

SMALL_PX = 240
LARGE_PX = 1280
# "About 1280": a decode scale landing within this factor of LARGE_PX is used as it is, without resampling.
_ABOUT = 1.3
_JPEG_QUALITY_LARGE = 80
_JPEG_QUALITY_SMALL = 75
# Below this spread of grey levels across the 9x8 hash image, the photo is too uniform to compare.
_MIN_HASH_SPREAD = 8

_ORIENTATION = 0x0112
_MAKE, _MODEL, _SOFTWARE = 0x010F, 0x0110, 0x0131
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
_GPS_ALT_REF, _GPS_ALT, _GPS_TIME, _GPS_DATE, _GPS_H_ERROR = 5, 6, 7, 29, 31
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class PhotoFacts(msgspec.Struct, frozen=True, kw_only=True):
    """One row of photo_analyses, without the thumbnails' blob ids."""

    status: Literal["ok", "unreadable"]
    reason: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    orientation: int | None = None
    has_exif: bool = False
    make: str | None = None
    model: str | None = None
    software: str | None = None
    taken_local: str | None = None
    taken_offset: str | None = None
    taken_at: datetime | None = None
    taken_zone_assumed: bool = False
    gps_latitude: float | None = None
    gps_longitude: float | None = None
    gps_altitude: float | None = None
    gps_accuracy: float | None = None
    gps_time: datetime | None = None
    phash: int | None = None


class PhotoAnalysis(msgspec.Struct, frozen=True):
    facts: PhotoFacts
    small: bytes | None = None
    # None with `large_is_original`: the original is the large view; None otherwise only when unreadable.
    large: bytes | None = None
    large_is_original: bool = False


def analyse_photo(data: bytes, *, max_pixels: int, zone: ZoneInfo) -> PhotoAnalysis:
    try:
        with IMAGE_WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _unreadable("the image declares too many pixels (a decompression bomb?)")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return _unreadable("the file is not a readable image")
    with image:
        width, height = image.size
        if width <= 0 or height <= 0:
            return _unreadable("the image has no pixels")
        if width * height > max_pixels:
            return _unreadable(f"the image declares {width}x{height} pixels, more than the {max_pixels} allowed")
        facts = _exif_facts(image, zone)
        facts = msgspec.structs.replace(facts, format=image.format, width=width, height=height)
        try:
            return _render(image, facts)
        except (OSError, SyntaxError, ValueError, MemoryError, Image.DecompressionBombError) as exc:
            reason = "the file is truncated" if "truncated" in str(exc) else "the image data cannot be decoded"
            return PhotoAnalysis(facts=msgspec.structs.replace(facts, status="unreadable", reason=reason))


def _unreadable(reason: str) -> PhotoAnalysis:
    return PhotoAnalysis(facts=PhotoFacts(status="unreadable", reason=reason))


def _render(image: Image.Image, facts: PhotoFacts) -> PhotoAnalysis:
    width, height = image.size
    long_side = max(width, height)
    transpose = _TRANSPOSE.get(facts.orientation or 1)
    # An upright JPEG already about the large size is its own large view: then only the small one is made, from a
    # decode at the smallest DCT scale that still gives SMALL_PX (a 1600 px photo decodes at 400 px, 4x cheaper).
    large_is_original = image.format == "JPEG" and transpose is None and long_side <= LARGE_PX * _ABOUT
    target = SMALL_PX if large_is_original else LARGE_PX / _ABOUT
    scale = 1
    if image.format == "JPEG":
        while scale < 8 and long_side / (scale * 2) >= target:
            scale *= 2
        if scale > 1:
            image.draft("RGB", (math.ceil(width / scale), math.ceil(height / scale)))
    image.load()
    upright = image if image.mode == "RGB" else image.convert("RGB")
    if transpose is not None:
        upright = upright.transpose(transpose)
    large = None
    if not large_is_original:
        if max(upright.size) > LARGE_PX * _ABOUT:
            upright.thumbnail((LARGE_PX, LARGE_PX), Image.Resampling.BILINEAR, reducing_gap=2.0)
        large = _jpeg(upright, _JPEG_QUALITY_LARGE)
    small_image = upright.copy() if large is not None else upright
    small_image.thumbnail((SMALL_PX, SMALL_PX), Image.Resampling.BILINEAR, reducing_gap=2.0)
    small = _jpeg(small_image, _JPEG_QUALITY_SMALL)
    facts = msgspec.structs.replace(facts, phash=dhash(small_image))
    return PhotoAnalysis(facts=facts, small=small, large=large, large_is_original=large_is_original)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def dhash(image: Image.Image) -> int | None:
    """64-bit difference hash as a signed int64 (what a bigint column holds); None for a uniform image."""
    grey = image.convert("L").resize((9, 8), Image.Resampling.BOX)
    pixels = list(grey.tobytes())
    if max(pixels) - min(pixels) < _MIN_HASH_SPREAD:
        return None
    bits = 0
    for row in range(8):
        for column in range(8):
            left, right = pixels[row * 9 + column], pixels[row * 9 + column + 1]
            bits = (bits << 1) | (1 if left > right else 0)
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


# EXIF


def _exif_facts(image: Image.Image, zone: ZoneInfo) -> PhotoFacts:
    try:
        exif = image.getexif()
        main = dict(exif.items())
        details = dict(exif.get_ifd(_EXIF_IFD).items())
        gps = dict(exif.get_ifd(_GPS_IFD).items())
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, struct_error):
        # A corrupt EXIF block is as good as none: the photo itself may still be fine.
        return PhotoFacts(status="ok")
    orientation = _int(main.get(_ORIENTATION))
    taken_local = _text(details.get(_DATETIME_ORIGINAL))
    taken_offset = _text(details.get(_OFFSET_TIME_ORIGINAL))
    taken_at, assumed = _instant(taken_local, taken_offset, zone)
    latitude, longitude = _coordinate(gps, _GPS_LAT, _GPS_LAT_REF, "S"), _coordinate(gps, _GPS_LON, _GPS_LON_REF, "W")
    if (
        latitude is None
        or longitude is None
        or not (-90 <= latitude <= 90 and -180 <= longitude <= 180)
        or (latitude == 0 and longitude == 0)  # "no fix" written as a position
    ):
        latitude = longitude = None
    altitude = _number(gps.get(_GPS_ALT))
    if altitude is not None and _int(gps.get(_GPS_ALT_REF)) == 1:
        altitude = -altitude
    return PhotoFacts(
        status="ok",
        orientation=orientation if orientation in range(1, 9) else None,
        has_exif=bool(main or details or gps),
        make=_text(main.get(_MAKE)),
        model=_text(main.get(_MODEL)),
        software=_text(main.get(_SOFTWARE)),
        taken_local=taken_local,
        taken_offset=taken_offset,
        taken_at=taken_at,
        taken_zone_assumed=assumed,
        gps_latitude=latitude,
        gps_longitude=longitude,
        gps_altitude=altitude if latitude is not None else None,
        gps_accuracy=_number(gps.get(_GPS_H_ERROR)) if latitude is not None else None,
        gps_time=_gps_time(gps),
    )


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()
    return cleaned[:200] or None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def _coordinate(gps: dict[int, Any], tag: int, ref_tag: int, negative: str) -> float | None:
    value = gps.get(tag)
    if not isinstance(value, tuple) or len(value) != 3:
        return None
    parts = [_number(v) for v in value]
    if any(p is None for p in parts):
        return None
    degrees, minutes, seconds = (p or 0.0 for p in parts)
    result = degrees + minutes / 60 + seconds / 3600
    return -result if (_text(gps.get(ref_tag)) or "").upper() == negative else result


def _offset(text: str | None) -> timezone | None:
    if not text or len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _instant(local: str | None, offset: str | None, zone: ZoneInfo) -> tuple[datetime | None, bool]:
    """DateTimeOriginal is local time without a zone: its offset when the camera wrote one, else the project's."""
    if not local:
        return None, False
    try:
        naive = datetime.strptime(local[:19], "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007 - the zone is attached below
    except ValueError:
        return None, False
    fixed = _offset(offset)
    if fixed is not None:
        return naive.replace(tzinfo=fixed), False
    return naive.replace(tzinfo=zone), True


def _gps_time(gps: dict[int, Any]) -> datetime | None:
    """GPSDateStamp + GPSTimeStamp, which are UTC by definition."""
    date, time = _text(gps.get(_GPS_DATE)), gps.get(_GPS_TIME)
    if not date or not isinstance(time, tuple) or len(time) != 3:
        return None
    parts = [_number(v) for v in time]
    if any(p is None for p in parts):
        return None
    hours, minutes, seconds = (p or 0.0 for p in parts)
    try:
        day = datetime.strptime(date[:10], "%Y:%m:%d").replace(tzinfo=UTC)
        return day + timedelta(hours=hours, minutes=minutes, seconds=seconds)
    except (ValueError, OverflowError):
        return None
