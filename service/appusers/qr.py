"""The ODK Collect configuration QR code: zlib-compressed, base64-encoded JSON settings, as Central makes it."""

from __future__ import annotations

import base64
import io
import zlib

import msgspec

__all__ = ["collect_settings_payload", "decode_payload", "qr_png"]


def collect_settings_payload(server_url: str, project_name: str) -> str:
    settings = {
        "general": {
            "server_url": server_url,
            # Keep phones on exactly the forms the server lists (new versions replace old ones).
            "form_update_mode": "match_exactly",
            "autosend": "wifi_and_cellular",
        },
        "admin": {},
        "project": {"name": project_name},
    }
    return base64.b64encode(zlib.compress(msgspec.json.encode(settings))).decode("ascii")


def decode_payload(payload: str) -> dict[str, object]:
    decoded: dict[str, object] = msgspec.json.decode(zlib.decompress(base64.b64decode(payload)))
    return decoded


def qr_png(payload: str, *, scale: int = 6) -> bytes:
    import segno  # only the few requests that draw a QR code pay for it

    buffer = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
