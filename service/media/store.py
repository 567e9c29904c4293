"""The media store: content-addressed files behind one small interface, with a local-disk and an S3 backend.

Writing is two steps so that nothing large is ever held in memory and nothing half-written is ever visible:
  1. `store.spool()` gives a `SpoolFile`: bytes are appended as they arrive from the network, hashed on the way.
  2. `store.put(spool)` moves the finished file under its key `blobs/ab/cd/<sha256>` (rename on disk, upload to
     S3). Keys come from the content hash only — never from a user's file name — so a retry of the same bytes
     lands on the same key and cannot corrupt anything.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import time
import uuid
from typing import TYPE_CHECKING, Protocol

import msgspec

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

__all__ = [
    "BLOB_KEY",
    "BlobInfo",
    "MediaStore",
    "SpoolFile",
    "StoredObject",
    "StoreFull",
    "StoreUnavailable",
    "TooLarge",
    "blob_key",
    "disk_free_bytes",
    "remove_spool_leftovers",
    "storage_error",
]

HEAD_BYTES = 4096


class StoreUnavailable(RuntimeError):
    """The backend cannot be reached right now (S3 down, disk gone); callers answer 503."""


class StoreFull(RuntimeError):
    """The disk under the store (or under the spool folder of an S3 store) is full; callers answer 507."""


_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def storage_error(exc: OSError, what: str) -> StoreFull | StoreUnavailable:
    """An OSError from writing a file, as what it means for the caller: out of space (507), or unusable (503)."""
    if exc.errno in _NO_SPACE:
        return StoreFull(f"{what}: {exc.strerror}")
    return StoreUnavailable(f"{what}: {exc.strerror}")


class TooLarge(ValueError):
    """More bytes arrived than the caller allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class BlobInfo(msgspec.Struct, frozen=True):
    sha256: str
    size: int
    md5: str | None
    head: bytes


class StoredObject(msgspec.Struct, frozen=True):
    """An object in the store: its key, size and when it was last written (seconds since the epoch)."""

    key: str
    size: int
    modified: float

    @property
    def sha256(self) -> str:
        """The content hash the key ends with (keys come from blob_key)."""
        return self.key.rsplit("/", 1)[-1]


# Exactly what blob_key() makes (without its prefix): lowercase hex, the two folders repeating the hash's first digits.
BLOB_KEY = re.compile(r"blobs/([0-9a-f]{2})/([0-9a-f]{2})/\1\2[0-9a-f]{60}")


def blob_key(sha256_hex: str, prefix: str = "") -> str:
    return f"{prefix}blobs/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}"


class SpoolFile:
    """A temporary file being filled chunk by chunk, hashed as it grows, with a hard size cap.

    Writes go to the page cache synchronously (microseconds per chunk); the fsync happens in a thread at
    `put()` time. md5 is optional because it costs more CPU than sha256 and only form media need it.
    """

    def __init__(self, directory: Path, *, limit: int, want_md5: bool = False) -> None:
        self.path = directory / f"{uuid.uuid4().hex}.part"
        self.limit = limit
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False) if want_md5 else None
        self._head = bytearray()
        try:
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        except OSError as exc:
            raise storage_error(exc, "spool folder") from exc

    def write(self, chunk: bytes | memoryview) -> None:
        if self._fd is None:
            raise ValueError("spool file is closed")
        self.size += len(chunk)
        if self.size > self.limit:
            raise TooLarge(self.limit)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        self._sha256.update(chunk)
        if self._md5 is not None:
            self._md5.update(chunk)
        view = memoryview(chunk)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            raise storage_error(exc, "spool folder") from exc

    def finish(self) -> BlobInfo:
        """Close for writing (no fsync yet) and return what is known about the content."""
        self.close()
        return BlobInfo(
            sha256=self._sha256.hexdigest(),
            size=self.size,
            md5=self._md5.hexdigest() if self._md5 is not None else None,
            head=bytes(self._head),
        )

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def remove_spool_leftovers(spool_dir: Path, *, older_than_s: float = 0) -> int:
    """Delete `*.part` files a crash left in the spool folder (nothing references them: rows come after put()).

    `serve` calls this with no age limit before any worker starts; each store, opened by a worker while others may
    be receiving uploads, only removes parts older than any upload can take.
    """
    cutoff = time.time() - older_than_s
    removed = 0
    for part in spool_dir.glob("*.part"):
        try:
            if older_than_s <= 0 or part.stat().st_mtime < cutoff:
                part.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def disk_free_bytes(path: Path) -> int:
    """Bytes an unprivileged process can still write on the filesystem holding `path`."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


class MediaStore(Protocol):
    """What every backend provides. All methods are safe to call from the event loop."""

    def spool(self, *, limit: int, want_md5: bool = False) -> SpoolFile: ...

    async def put(self, spool: SpoolFile, info: BlobInfo, content_type: str) -> str:
        """Store the finished spool file under its content key, remove the spool file, return the key."""
        ...

    async def exists(self, key: str) -> bool: ...

    def read(self, key: str, *, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        """Stream the stored bytes. Raises FileNotFoundError when the key is absent."""
        ...

    async def delete(self, key: str) -> None: ...

    def list(self) -> AsyncIterator[StoredObject]:
        """Every stored blob object (not the spool), in no particular order, a page at a time: for the
        housekeeping sweep, which looks for objects no blob row references."""
        ...

    async def stat(self, key: str) -> StoredObject | None:
        """Size and last write time of one object, None when absent."""
        ...

    async def check(self) -> None:
        """Raise StoreUnavailable when the backend cannot serve requests (used by /readyz)."""
        ...

    def free_bytes(self) -> int:
        """Room left on the local disk this store writes to (its files, or its spool folder for S3)."""
        ...

    def key_for(self, sha256_hex: str) -> str: ...

    async def close(self) -> None: ...
