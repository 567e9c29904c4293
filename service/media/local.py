"""Local-disk media store: files under `root/blobs/ab/cd/<sha256>`, written atomically.

The spool folder sits inside the root, on the same filesystem, so finishing a file is an fsync and a rename:
a reader sees either nothing or the whole file. A crash leaves at most `.spool/*.part` files, swept on start.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from .store import (
    BLOB_KEY,
    SpoolFile,
    StoredObject,
    StoreUnavailable,
    blob_key,
    disk_free_bytes,
    remove_spool_leftovers,
    storage_error,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .store import BlobInfo

__all__ = ["LocalStore"]

# No upload takes this long (a 100 MB household at 2G's 40 kbit/s would, and is cut off by the body-rate limit).
STALE_SPOOL_S = 6 * 3600
# fsync is latency, not CPU: a disk absorbs many at once (limits.md: ~460 fsync'd MB/s with one thread, ~1 GB/s
# with 16), so finishing files gets its own wide pool instead of queueing behind asyncio's default 6 threads.
_FSYNC_THREADS = 16


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.spool_dir = self.root / ".spool"
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        remove_spool_leftovers(self.spool_dir, older_than_s=STALE_SPOOL_S)
        self._io = ThreadPoolExecutor(max_workers=_FSYNC_THREADS, thread_name_prefix="media-fsync")

    def key_for(self, sha256_hex: str) -> str:
        return blob_key(sha256_hex)

    def _path(self, key: str) -> Path:
        # Keys are made by key_for(); refuse anything else rather than trusting it as a path. (str.isalnum() was
        # not enough: it accepts any Unicode letter or digit, and keys that are not a sha256 at all.)
        if not BLOB_KEY.fullmatch(key):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root.joinpath(*key.split("/"))

    def spool(self, *, limit: int, want_md5: bool = False) -> SpoolFile:
        return SpoolFile(self.spool_dir, limit=limit, want_md5=want_md5)

    async def put(self, spool: SpoolFile, info: BlobInfo, content_type: str) -> str:
        key = self.key_for(info.sha256)
        target = self._path(key)
        try:
            await asyncio.get_running_loop().run_in_executor(self._io, _fsync_and_rename, spool.path, target)
        except OSError as exc:
            spool.discard()
            raise storage_error(exc, "local media store") from exc
        return key

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def read(self, key: str, *, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        path = self._path(key)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def list(self) -> AsyncIterator[StoredObject]:
        # One thread hop per folder of the two-level fan-out (up to 65,536 of them), never one per file.
        top = self.root / "blobs"
        outer = await asyncio.to_thread(_subfolders, top)
        for first in outer:
            for second in await asyncio.to_thread(_subfolders, first):
                for found in await asyncio.to_thread(_objects, self.root, second):
                    yield found

    async def stat(self, key: str) -> StoredObject | None:
        try:
            info = await asyncio.to_thread(self._path(key).stat)
        except FileNotFoundError:
            return None
        return StoredObject(key=key, size=info.st_size, modified=info.st_mtime)

    async def check(self) -> None:
        if not os.access(self.spool_dir, os.W_OK):
            raise StoreUnavailable(f"local media store {self.root} is not writable")

    def free_bytes(self) -> int:
        return disk_free_bytes(self.root)

    async def close(self) -> None:
        self._io.shutdown(wait=True)


def _subfolders(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if e.is_dir(follow_symlinks=False) and len(e.name) == 2)
    except FileNotFoundError:
        return []


def _objects(root: Path, folder: Path) -> list[StoredObject]:
    found = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                key = f"blobs/{folder.parent.name}/{folder.name}/{entry.name}"
                if not BLOB_KEY.fullmatch(key) or not entry.is_file(follow_symlinks=False):
                    continue  # not ours (an editor's backup, a stray file): never touched
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                found.append(StoredObject(key=key, size=info.st_size, modified=info.st_mtime))
    except FileNotFoundError:
        return []
    return found


def _fsync_and_rename(source: Path, target: Path) -> None:
    fd = os.open(source, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    target.parent.mkdir(parents=True, exist_ok=True)
    source.replace(target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
