"""The pages' own CSS and JavaScript (service/web/static), served under names that carry their content's hash, so a
browser may keep them for a year: a changed file gets a new name, and the pages link to it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec

__all__ = ["STATIC_DIR", "STATIC_PATH", "Asset", "Assets", "load_assets"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PATH = "/review/static"
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}


class Asset(msgspec.Struct, frozen=True):
    name: str
    content: bytes
    media_type: str
    etag: str


class Assets(msgspec.Struct, frozen=True):
    # "app.css" → its hashed name; hashed name → the file
    urls: dict[str, str]
    files: dict[str, Asset]

    def url(self, name: str) -> str:
        return self.urls[name]


def load_assets(directory: Path = STATIC_DIR) -> Assets:
    """Read every file once at start-up (they are a few kilobytes) and name each `stem.<hash>.suffix`."""
    urls: dict[str, str] = {}
    files: dict[str, Asset] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix not in _TYPES or not path.is_file():
            continue
        content = path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()[:12]
        hashed = f"{path.stem}.{digest}{path.suffix}"
        urls[path.name] = f"{STATIC_PATH}/{hashed}"
        files[hashed] = Asset(name=hashed, content=content, media_type=_TYPES[path.suffix], etag=f'"{digest}"')
    return Assets(urls=urls, files=files)
