"""The media store contract, once per backend (local disk, S3): streaming in and out, content keys, limits."""

from __future__ import annotations

import hashlib
import os
import time
import tracemalloc
from typing import TYPE_CHECKING

import pytest

from service.media.blobs import store_stream
from service.media.local import LocalStore
from service.media.store import StoreUnavailable, TooLarge, blob_key
from tests.media.conftest import s3_store
from tests.support.s3 import MotoServer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from service.media.store import MediaStore

CHUNK = 64 * 1024


async def chunks_of(data: bytes, size: int = CHUNK) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(store: MediaStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


def spool_files(store: MediaStore) -> list[Path]:
    directory: Path = store.spool_dir  # type: ignore[attr-defined]
    return list(directory.glob("*.part"))


async def test_round_trip_streams_in_and_out(store: MediaStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    stored = await store_stream(store, chunks_of(data), limit=len(data), want_md5=True)
    digest = hashlib.sha256(data).hexdigest()
    assert stored.sha256 == digest
    assert stored.md5 == hashlib.md5(data).hexdigest()
    assert stored.size == len(data)
    assert stored.storage_key.endswith(blob_key(digest))
    assert await store.exists(stored.storage_key)
    assert await read_all(store, stored.storage_key) == data
    assert spool_files(store) == []


async def test_keys_come_from_content_never_from_names(store: MediaStore) -> None:
    stored = await store_stream(store, chunks_of(b"../../etc/passwd"), limit=100)
    assert ".." not in stored.storage_key
    assert stored.storage_key.rsplit("/", 1)[1] == hashlib.sha256(b"../../etc/passwd").hexdigest()


async def test_storing_the_same_content_twice_is_harmless(store: MediaStore) -> None:
    data = os.urandom(200_000)
    first = await store_stream(store, chunks_of(data), limit=len(data))
    second = await store_stream(store, chunks_of(data), limit=len(data))
    assert first.storage_key == second.storage_key
    assert await read_all(store, first.storage_key) == data
    assert spool_files(store) == []


async def test_too_large_stops_early_and_leaves_nothing(store: MediaStore) -> None:
    data = os.urandom(300_000)
    with pytest.raises(TooLarge):
        await store_stream(store, chunks_of(data), limit=100_000)
    assert spool_files(store) == []
    assert not await store.exists(store.key_for(hashlib.sha256(data).hexdigest()))


async def test_missing_keys(store: MediaStore) -> None:
    key = store.key_for("0" * 64)
    assert not await store.exists(key)
    with pytest.raises(FileNotFoundError):
        await read_all(store, key)


async def test_delete(store: MediaStore) -> None:
    stored = await store_stream(store, chunks_of(b"delete me"), limit=100)
    await store.delete(stored.storage_key)
    assert not await store.exists(stored.storage_key)


async def test_reading_streams_in_bounded_chunks(store: MediaStore) -> None:
    data = os.urandom(20 * 1024 * 1024)
    stored = await store_stream(store, chunks_of(data, 1024 * 1024), limit=len(data))
    sizes = [len(chunk) async for chunk in store.read(stored.storage_key, chunk_size=256 * 1024)]
    assert sum(sizes) == len(data)
    assert max(sizes) <= 256 * 1024


async def test_writing_a_big_file_does_not_hold_it_in_memory(store: MediaStore) -> None:
    # Disk: one chunk at a time. S3: boto3 holds at most two 8 MB multipart parts, whatever the file size.
    allowed = 8 if isinstance(store, LocalStore) else 24
    block = os.urandom(CHUNK)

    async def fifty_megabytes() -> AsyncIterator[bytes]:
        for _ in range(800):
            yield block

    tracemalloc.start()
    try:
        await store_stream(store, fifty_megabytes(), limit=100 * 1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < allowed * 1024 * 1024


async def test_check_passes(store: MediaStore) -> None:
    await store.check()


def test_local_spool_is_on_the_same_filesystem_and_stale_parts_are_swept(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "media")
    assert store.spool_dir.parent == store.root
    stale = store.spool_dir / "old.part"
    fresh = store.spool_dir / "new.part"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    old = time.time() - 7 * 3600
    os.utime(stale, (old, old))
    LocalStore(tmp_path / "media")
    assert not stale.exists()
    assert fresh.exists()


@pytest.mark.parametrize("key", ["../etc/passwd", "/etc/passwd", "blobs/../../x/y", "blobs/ab/cd/../x", "blobs/a/b"])
async def test_local_refuses_keys_that_are_not_blob_keys(tmp_path: Path, key: str) -> None:
    store = LocalStore(tmp_path / "media")
    with pytest.raises(ValueError, match="not a blob key"):
        await store.exists(key)


@pytest.mark.s3
async def test_s3_down_is_store_unavailable_and_recovers(tmp_path: Path) -> None:
    moto = MotoServer().start()
    try:
        moto.create_bucket("outage")
        store = s3_store(moto, tmp_path, "outage")
        stored = await store_stream(store, chunks_of(b"before"), limit=100)
        moto.stop()
        with pytest.raises(StoreUnavailable):
            await store_stream(store, chunks_of(b"during"), limit=100)
        with pytest.raises(StoreUnavailable):
            await read_all(store, stored.storage_key)
        with pytest.raises(StoreUnavailable):
            await store.check()
        assert spool_files(store) == []
        moto = MotoServer(moto.port).start()
        moto.create_bucket("outage")
        again = await store_stream(store, chunks_of(b"after"), limit=100)
        assert await read_all(store, again.storage_key) == b"after"
        await store.close()
    finally:
        moto.stop()


@pytest.mark.s3
async def test_s3_missing_bucket_is_unavailable(moto: MotoServer, tmp_path: Path) -> None:
    store = s3_store(moto, tmp_path, "no-such-bucket")
    with pytest.raises(StoreUnavailable):
        await store.check()
    await store.close()
