"""Requests shaped exactly as ODK Collect (OkHttp) sends them — see docs/openrosa.md §2, §5.

- every URL carries `deviceID=collect%3A<16 chars>`;
- headers: User-Agent, X-OpenRosa-Version 1.0, a 12-hour-clock `Date`, Accept-Encoding gzip, no cookies;
- submissions: multipart/form-data with a UUID boundary, `xml_submission_file` first (filename = form title +
  local time, raw UTF-8), one part per file named by its base name, `*isIncomplete*=yes` on split POSTs, and
  files split over POSTs by Collect's own rule (raw sizes only, multipart framing not counted).
"""

from __future__ import annotations

import io
import random
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from PIL import Image

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "COLLECT_USER_AGENT",
    "collect_headers",
    "jpeg_bytes",
    "multipart_body",
    "split_like_collect",
    "with_device_id",
]

COLLECT_USER_AGENT = (
    "org.odk.collect.android/v2025.3.1 Dalvik/2.1.0 (Linux; U; Android 14; SM-A155F Build/UP1A.231005.007)"
)
DEVICE_ID = "collect:AbCdEfGh12345678"

_CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "csv": "text/comma-separated-values",
    "m4a": "audio/mpeg",
    "mp3": "audio/mpeg",
    "mp4": "video/mp4",
    "xml": "text/xml",
    "amr": "audio/amr",
}


def with_device_id(url: str, device_id: str = DEVICE_ID) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}deviceID={quote(device_id, safe='')}"


def collect_date(now: datetime | None = None) -> str:
    # Java's "E, dd MMM yyyy hh:mm:ss zz": hh is a 12-hour clock with no AM/PM marker.
    now = now or datetime.now(UTC)
    return now.strftime("%a, %d %b %Y %I:%M:%S GMT")


def collect_headers(**extra: str) -> dict[str, str]:
    return {
        "User-Agent": COLLECT_USER_AGENT,
        "X-OpenRosa-Version": "1.0",
        "Date": collect_date(),
        "Accept-Encoding": "gzip",
        "Connection": "Keep-Alive",
        **extra,
    }


def _content_type(name: str) -> str:
    return _CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def multipart_body(
    xml: bytes,
    files: Sequence[tuple[str, bytes]],
    *,
    incomplete: bool = False,
    instance_file: str = "Khảo sát hộ gia đình 2023_2026-11-24_14-03-55.xml",
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """(body, Content-Type header) laid out as OkHttp's MultipartBody writes it."""
    boundary = boundary or str(uuid.uuid4())
    out = io.BytesIO()

    def part(disposition: str, content_type: str | None, data: bytes) -> None:
        out.write(f"--{boundary}\r\n".encode())
        out.write(f"Content-Disposition: {disposition}\r\n".encode())
        if content_type is not None:
            out.write(f"Content-Type: {content_type}\r\n".encode())
        out.write(b"\r\n")
        out.write(data)
        out.write(b"\r\n")

    part(f'form-data; name="xml_submission_file"; filename="{instance_file}"', "text/xml", xml)
    for name, data in files:
        part(f'form-data; name="{name}"; filename="{name}"', _content_type(name), data)
    if incomplete:
        part('form-data; name="*isIncomplete*"', None, b"yes")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def split_like_collect(
    xml: bytes, files: Sequence[tuple[str, bytes]], limit: int
) -> list[tuple[list[tuple[str, bytes]], bool]]:
    """Collect's split: count the XML size plus raw file sizes; close a POST when the next file would pass the
    limit (or past 100 files). Every POST but the last is marked incomplete."""
    posts: list[list[tuple[str, bytes]]] = []
    current: list[tuple[str, bytes]] = []
    size = len(xml)
    for index, (name, data) in enumerate(files):
        current.append((name, data))
        size += len(data)
        following = files[index + 1] if index + 1 < len(files) else None
        if following is not None and (size + len(following[1]) > limit or len(current) - 1 > 100):
            posts.append(current)
            current, size = [], len(xml)
    posts.append(current)
    return [(post, i < len(posts) - 1) for i, post in enumerate(posts)]


def jpeg_bytes(width: int = 640, height: int = 480, *, seed: int | None = None, quality: int = 80) -> bytes:
    """A photo-like JPEG, different for each seed (so blobs do not de-duplicate unless asked to)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    for _ in range(20):
        x, y = rng.randrange(width), rng.randrange(height)
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        image.paste(color, (x, y, min(width, x + 40), min(height, y + 40)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
