"""Headers for files we send: a Content-Disposition that survives any file name.

File names come from forms and phones ("ảnh nhà.jpg", a quote, a semicolon). HTTP headers are Latin-1, so the name
goes twice (RFC 6266): `filename=` with a plain-ASCII stand-in for old clients, and `filename*=UTF-8''…` with the
real name percent-encoded, which every current browser and HTTP library prefers.
"""

from __future__ import annotations

import unicodedata
from typing import Literal
from urllib.parse import quote

__all__ = ["content_disposition"]


def _ascii_fallback(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    cleaned = "".join(c if c.isprintable() and c not in '"\\;' else "_" for c in plain).strip()
    return cleaned or "download"


def content_disposition(kind: Literal["inline", "attachment"], filename: str) -> str:
    fallback = _ascii_fallback(filename)
    if fallback == filename:
        return f'{kind}; filename="{filename}"'
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
