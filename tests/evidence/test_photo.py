"""Photo analysis on real JPEGs made here: EXIF read back, thumbnails upright and about the right size, the dHash of
near-copies close and of different photos far, and damaged files recorded as unreadable with a reason."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pillow_heif
import pytest
from PIL import Image

from service.evidence.photo import LARGE_PX, SMALL_PX, analyse_photo, hamming
from tests.support.photos import bomb_png, near_copy, photo, truncated

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_PIXELS = 60_000_000


def _size(data: bytes | None) -> tuple[int, int]:
    assert data is not None
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def test_exif_gps_time_camera_and_size_are_read() -> None:
    data = photo(1, gps=(16.2154, 107.2931), gps_accuracy=4.5, taken="2023:10:02 09:15:00", offset="+07:00")
    result = analyse_photo(data, max_pixels=MAX_PIXELS, zone=ZONE)
    facts = result.facts
    assert facts.status == "ok"
    assert (facts.format, facts.width, facts.height) == ("JPEG", 1600, 1200)
    assert facts.has_exif
    assert (facts.make, facts.model) == ("samsung", "SM-A155F")
    assert facts.gps_latitude == pytest.approx(16.2154, abs=1e-6)
    assert facts.gps_longitude == pytest.approx(107.2931, abs=1e-6)
    assert facts.gps_altitude == pytest.approx(12.0)
    assert facts.gps_accuracy == pytest.approx(4.5)
    assert facts.taken_at == datetime(2023, 10, 2, 2, 15, tzinfo=UTC)
    assert not facts.taken_zone_assumed
    assert facts.phash is not None


def test_a_local_time_without_offset_is_read_in_the_project_zone() -> None:
    facts = analyse_photo(photo(2, taken="2023:10:02 09:15:00"), max_pixels=MAX_PIXELS, zone=ZONE).facts
    assert facts.taken_at == datetime(2023, 10, 2, 2, 15, tzinfo=UTC)
    assert facts.taken_zone_assumed
    assert facts.taken_offset is None


def test_without_exif_the_photo_is_still_analysed() -> None:
    result = analyse_photo(photo(3, exif=False), max_pixels=MAX_PIXELS, zone=ZONE)
    assert result.facts.status == "ok"
    assert not result.facts.has_exif
    assert result.facts.gps_latitude is None
    assert result.facts.taken_at is None
    assert result.small is not None


def test_thumbnails_are_upright_and_about_the_sizes() -> None:
    # Orientation 6: the pixels are stored lying on their side; the camera says "rotate 90° clockwise".
    rotated = analyse_photo(photo(4, orientation=6), max_pixels=MAX_PIXELS, zone=ZONE)
    assert rotated.facts.orientation == 6
    assert _size(rotated.small) == (SMALL_PX * 3 // 4, SMALL_PX)
    assert _size(rotated.large) == (1200, 1600)  # within "about 1280": decoded as it is, turned upright
    plain = analyse_photo(photo(4), max_pixels=MAX_PIXELS, zone=ZONE)
    assert _size(plain.small) == (SMALL_PX, SMALL_PX * 3 // 4)
    # An upright JPEG already about the large size is its own large view: nothing is re-encoded.
    assert plain.large is None
    assert plain.large_is_original
    # The hash is of the upright picture, so the rotated copy of a photo still matches it.
    assert rotated.facts.phash is not None
    assert plain.facts.phash is not None


def test_a_big_photo_is_decoded_at_a_smaller_dct_scale() -> None:
    big = analyse_photo(photo(5, width=4032, height=3024, quality=80), max_pixels=MAX_PIXELS, zone=ZONE)
    assert big.facts.width == 4032
    width, height = _size(big.large)
    assert LARGE_PX / 1.3 <= max(width, height) <= LARGE_PX * 1.3
    assert (width, height) == (1008, 756)  # 1/4 scale, never resampled
    assert _size(big.small) == (SMALL_PX, SMALL_PX * 3 // 4)


def test_near_copies_hash_close_and_different_photos_far() -> None:
    original = analyse_photo(photo(6), max_pixels=MAX_PIXELS, zone=ZONE).facts.phash
    copy = analyse_photo(near_copy(photo(6)), max_pixels=MAX_PIXELS, zone=ZONE).facts.phash
    other = analyse_photo(photo(7), max_pixels=MAX_PIXELS, zone=ZONE).facts.phash
    assert original is not None
    assert copy is not None
    assert other is not None
    assert hamming(original, copy) <= 3
    assert hamming(original, other) > 12


def test_a_uniform_picture_gets_no_hash() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (0, 0, 0)).save(buffer, format="JPEG")
    facts = analyse_photo(buffer.getvalue(), max_pixels=MAX_PIXELS, zone=ZONE).facts
    assert facts.status == "ok"
    assert facts.phash is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (truncated(photo(8)), "the file is truncated"),
        (bomb_png(), "the image declares too many pixels (a decompression bomb?)"),
        (bomb_png(9000, 9000), "the image declares 9000x9000 pixels, more than the 60000000 allowed"),
        (b"\xff\xd8\xff\xe0 not really a jpeg", "the file is not a readable image"),
    ],
)
def test_damaged_files_are_unreadable_with_a_reason(data: bytes, reason: str) -> None:
    result = analyse_photo(data, max_pixels=MAX_PIXELS, zone=ZONE)
    assert result.facts.status == "unreadable"
    assert result.facts.reason == reason
    assert result.small is None


def test_heic_is_read_through_pillow_heif() -> None:
    buffer = io.BytesIO()
    image = Image.open(io.BytesIO(photo(9, width=640, height=480)))
    try:
        pillow_heif.from_pillow(image).save(buffer, quality=80)
    except (OSError, RuntimeError, ValueError) as exc:  # a libheif without an HEVC encoder can only read
        pytest.skip(f"this libheif cannot write HEIC: {exc}")
    result = analyse_photo(buffer.getvalue(), max_pixels=MAX_PIXELS, zone=ZONE)
    assert result.facts.status == "ok"
    assert result.facts.format == "HEIF"
    assert _size(result.small) == (SMALL_PX, SMALL_PX * 3 // 4)
