"""The media store contract, once per backend (local disk, S3 on moto): spool, put, read, limits, memory, outages."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from service.media import open_store
from service.media.blobs import store_stream
from service.media.local import LocalStore
from service.media.s3 import S3Store
from service.media.store import HEAD_BYTES, StoreUnavailable, TooLarge, blob_key
from service.settings import Settings
from tests.support.s3 import MotoServer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.media.store import MediaStore, SpoolFile
    from tests.media.conftest import OpenS3

CHUNK = 64 * 1024
MB = 1024 * 1024
BLOB_KEY = re.compile(r"blobs/([0-9a-f]{2})/([0-9a-f]{2})/(\1\2[0-9a-f]{60})")


def spool_dir(store: MediaStore) -> Path:
    assert isinstance(store, LocalStore | S3Store)
    return store.spool_dir


def leftovers(store: MediaStore) -> list[Path]:
    return list(spool_dir(store).iterdir())


def spooled(store: MediaStore, data: bytes, *, limit: int | None = None, want_md5: bool = False) -> SpoolFile:
    spool = store.spool(limit=len(data) if limit is None else limit, want_md5=want_md5)
    for start in range(0, len(data), CHUNK):
        spool.write(data[start : start + CHUNK])
    return spool


async def put_bytes(store: MediaStore, data: bytes, content_type: str = "application/octet-stream") -> str:
    spool = spooled(store, data)
    return await store.put(spool, spool.finish(), content_type)


async def read_all(store: MediaStore, key: str, chunk_size: int = 256 * 1024) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, chunk_size=chunk_size)])


# -- the contract, on every backend ---------------------------------------------------------------------------------


async def test_spool_put_read_round_trip(store: MediaStore) -> None:
    data = os.urandom(3 * MB + 17)
    spool = spooled(store, data, want_md5=True)
    assert spool.path.parent == spool_dir(store)
    info = spool.finish()
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.md5 == hashlib.md5(data).hexdigest()
    assert info.size == len(data)
    assert info.head == data[:HEAD_BYTES]

    key = await store.put(spool, info, "image/jpeg")
    assert key == store.key_for(info.sha256)
    assert key.endswith(blob_key(info.sha256))
    assert not spool.path.exists()
    assert leftovers(store) == []
    assert await store.exists(key)
    assert hashlib.sha256(await read_all(store, key)).hexdigest() == info.sha256


async def test_md5_only_when_asked(store: MediaStore) -> None:
    info = spooled(store, b"form media").finish()
    assert info.md5 is None
    assert info.size == 10


async def test_keys_come_from_the_content_never_from_names(store: MediaStore) -> None:
    # The API has no way to pass a file name; even content that looks like a path ends up as a hash.
    data = b"../../etc/passwd \xd0\x90\xe1\xbb\x87 Nguy\xe1\xbb\x85n V\xc4\x83n A.jpg"
    key = await put_bytes(store, data, "text/plain")
    match = BLOB_KEY.fullmatch(key)
    assert match is not None
    assert match[3] == hashlib.sha256(data).hexdigest()


async def test_putting_the_same_content_twice_is_harmless(store: MediaStore) -> None:
    data = os.urandom(200_000)
    first = await put_bytes(store, data)
    second = await put_bytes(store, data)
    assert first == second
    assert await read_all(store, first) == data
    assert leftovers(store) == []


async def test_concurrent_puts_of_the_same_content(store: MediaStore) -> None:
    # Two phones retrying the same photo at once: every put succeeds, one object, intact.
    data = os.urandom(1 * MB)
    spools = [spooled(store, data) for _ in range(6)]
    keys = await asyncio.gather(*(store.put(spool, spool.finish(), "image/jpeg") for spool in spools))
    assert set(keys) == {store.key_for(hashlib.sha256(data).hexdigest())}
    assert await read_all(store, keys[0]) == data
    assert leftovers(store) == []


async def test_exists(store: MediaStore) -> None:
    key = await put_bytes(store, b"present")
    assert await store.exists(key)
    assert not await store.exists(store.key_for(hashlib.sha256(b"absent").hexdigest()))


async def test_reading_a_missing_key_raises_file_not_found(store: MediaStore) -> None:
    with pytest.raises(FileNotFoundError):
        await read_all(store, store.key_for("0" * 64))


async def test_delete(store: MediaStore) -> None:
    key = await put_bytes(store, b"delete me")
    other = await put_bytes(store, b"keep me")
    await store.delete(key)
    assert not await store.exists(key)
    with pytest.raises(FileNotFoundError):
        await read_all(store, key)
    await store.delete(key)  # deleting what is gone is not an error
    assert await read_all(store, other) == b"keep me"


async def test_too_large_is_raised_by_write_and_discard_leaves_nothing(store: MediaStore) -> None:
    spool = store.spool(limit=100_000)
    spool.write(b"x" * 60_000)
    spool.write(b"x" * 40_000)  # exactly the limit is allowed
    with pytest.raises(TooLarge) as raised:
        spool.write(b"x")
    assert raised.value.limit == 100_000
    assert spool.path.stat().st_size <= 100_000  # the chunk past the limit never reached the disk
    spool.discard()
    assert not spool.path.exists()
    assert leftovers(store) == []
    spool.discard()  # twice is fine (error paths may both clean up)


async def test_a_finished_spool_refuses_more_bytes(store: MediaStore) -> None:
    spool = spooled(store, b"done")
    spool.finish()
    with pytest.raises(ValueError, match="closed"):
        spool.write(b"more")
    spool.discard()


async def test_check_passes(store: MediaStore) -> None:
    await store.check()


async def test_reading_streams_in_bounded_chunks(store: MediaStore) -> None:
    data = os.urandom(20 * MB)
    key = await put_bytes(store, data)
    digest = hashlib.sha256()
    sizes = []
    tracemalloc.start()
    try:
        async for chunk in store.read(key, chunk_size=256 * 1024):
            sizes.append(len(chunk))
            digest.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert len(sizes) >= 80
    assert max(sizes) <= 256 * 1024
    assert peak < 4 * MB  # measured: 0.6 MB from disk, 1.2 MB from S3


async def test_a_read_abandoned_halfway_can_be_closed(store: MediaStore) -> None:
    data = os.urandom(4 * MB)
    key = await put_bytes(store, data)
    reader = store.read(key, chunk_size=64 * 1024)
    assert isinstance(reader, AsyncGenerator)  # both backends; the Protocol promises only an AsyncIterator
    assert await anext(reader) == data[: 64 * 1024]
    await reader.aclose()  # what a response does when the client goes away
    assert await read_all(store, key) == data


async def test_spooling_50_mb_holds_one_chunk_at_a_time(store: MediaStore) -> None:
    block = os.urandom(CHUNK)
    tracemalloc.start()
    try:
        spool = store.spool(limit=100 * MB, want_md5=True)
        for _ in range(800):
            spool.write(block)
        info = spool.finish()
        _, spool_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        key = await store.put(spool, info, "video/mp4")
        _, put_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == 50 * MB
    assert spool_peak < 1 * MB  # measured: about 10 kB
    # Disk: a rename. S3: boto3 multipart from the file in 8 MB parts, two at a time (measured 4.5 MB).
    assert put_peak < (1 if isinstance(store, LocalStore) else 20) * MB
    assert await store.exists(key)


_RSS_PROBE = """
import os, resource, sys
from pathlib import Path
from service.media.local import LocalStore
store = LocalStore(Path(sys.argv[1]))
block = os.urandom(64 * 1024)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
spool = store.spool(limit=100 * 1024 * 1024, want_md5=True)
for _ in range(800):
    spool.write(block)
spool.finish()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
spool.discard()
"""


def test_spooling_50_mb_does_not_grow_peak_rss(tmp_path: Path) -> None:
    # The OS's view, in a fresh process: here, earlier tests' 50 MB test data would already have set the peak
    # (ru_maxrss only rises), hiding any growth. Written pages belong to the page cache, not to the process.
    result = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(tmp_path / "media")],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
        timeout=60,
    )
    grown_kb = int(result.stdout)
    assert grown_kb < 4 * 1024


async def chunks_of(data: bytes, *, then_fail: bool = False) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]
    if then_fail:
        raise ConnectionResetError("the phone went away")


async def test_store_stream_too_large_midway_leaves_nothing(store: MediaStore) -> None:
    data = os.urandom(300_000)
    with pytest.raises(TooLarge):
        await store_stream(store, chunks_of(data), limit=100_000)
    assert leftovers(store) == []
    assert not await store.exists(store.key_for(hashlib.sha256(data).hexdigest()))


async def test_store_stream_broken_upload_leaves_nothing(store: MediaStore) -> None:
    with pytest.raises(ConnectionResetError):
        await store_stream(store, chunks_of(os.urandom(300_000), then_fail=True), limit=MB)
    assert leftovers(store) == []


async def test_store_stream_sniffs_and_stores(store: MediaStore) -> None:
    data = b"%PDF-1.7\n" + os.urandom(100_000)
    stored = await store_stream(store, chunks_of(data), limit=MB, want_md5=True)
    assert (stored.content_type, stored.size) == ("application/pdf", len(data))
    assert stored.md5 == hashlib.md5(data).hexdigest()
    assert await read_all(store, stored.storage_key) == data


# -- open_store: settings pick the backend --------------------------------------------------------------------------


async def test_open_store_defaults_to_local_disk(tmp_path: Path) -> None:
    store = open_store(Settings(media_root=tmp_path / "media"))
    assert isinstance(store, LocalStore)
    key = await put_bytes(store, b"local")
    assert (tmp_path / "media" / key).read_bytes() == b"local"
    await store.close()


@pytest.mark.s3
async def test_open_store_from_s3_environment(moto: MotoServer, tmp_path: Path) -> None:
    moto.create_bucket("from-env")
    settings = Settings.from_env({**moto.env("from-env"), "MEDIA_ROOT": str(tmp_path / "media"), "S3_PREFIX": "p/"})
    store = open_store(settings)
    assert isinstance(store, S3Store)
    assert store.spool_dir == (tmp_path / "media" / ".spool").resolve()
    key = await put_bytes(store, b"remote")
    assert key.startswith("p/blobs/")
    assert await read_all(store, key) == b"remote"
    await store.check()
    await store.close()


# -- local disk -----------------------------------------------------------------------------------------------------


async def test_local_spool_is_inside_the_root_and_put_is_a_rename(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "media")
    assert store.spool_dir.parent == store.root
    assert store.spool_dir.stat().st_dev == store.root.stat().st_dev
    spool = spooled(store, b"atomic")
    inode = spool.path.stat().st_ino
    key = await store.put(spool, spool.finish(), "text/plain")
    stored = store.root / key
    assert stored.stat().st_ino == inode  # renamed, not copied: a reader sees nothing or the whole file
    assert stored.read_bytes() == b"atomic"
    await store.close()


async def test_local_sweeps_only_stale_parts_on_start(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "media")
    await store.close()
    stale = store.spool_dir / "crashed.part"
    fresh = store.spool_dir / "uploading.part"
    other = store.spool_dir / "notes.txt"
    for path in (stale, fresh, other):
        path.write_bytes(b"x")
    old = time.time() - 7 * 3600  # the cutoff is 6 h
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    reopened = LocalStore(tmp_path / "media")
    assert not stale.exists()
    assert fresh.exists()
    assert other.exists()
    await reopened.close()


NOT_BLOB_KEYS = [
    "../etc/passwd",
    "/etc/passwd",
    "blobs/../../x/y",
    "blobs/ab/cd/../x",
    "blobs/a/b",
    "blobs/ab/cd/ef",  # not a sha256
    "blobs/ab/cd/" + "ab" + "cd" + "0" * 59,  # 63 digits
    "blobs/AB/CD/ABCD" + "0" * 60,  # upper case
    "blobs/ab/cd/ffff" + "0" * 60,  # folders that do not match the hash
    "blobs/ab/cd/abcd" + "0" * 59 + "²",  # a Unicode digit (str.isalnum() said yes)
    "blobs/ab/cd/abcd" + "0" * 60 + "\n",
    "x/blobs/ab/cd/abcd" + "0" * 60,
]


@pytest.mark.parametrize("key", NOT_BLOB_KEYS)
async def test_local_refuses_keys_that_are_not_blob_keys(tmp_path: Path, key: str) -> None:
    store = LocalStore(tmp_path / "media")
    with pytest.raises(ValueError, match="not a blob key"):
        await store.exists(key)
    with pytest.raises(ValueError, match="not a blob key"):
        await read_all(store, key)
    with pytest.raises(ValueError, match="not a blob key"):
        await store.delete(key)
    await store.close()


async def test_local_delete_never_reaches_outside_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "precious.txt"
    outside.write_text("keep")
    store = LocalStore(tmp_path / "media")
    with pytest.raises(ValueError, match="not a blob key"):
        await store.delete("../precious.txt")
    assert outside.read_text() == "keep"
    await store.close()


async def test_local_put_failure_is_unavailable_and_leaves_no_spool(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "media")
    data = b"cannot be filed"
    digest = hashlib.sha256(data).hexdigest()
    (store.root / "blobs").mkdir()
    (store.root / "blobs" / digest[:2]).write_bytes(b"a file where a folder must go")
    spool = spooled(store, data)
    with pytest.raises(StoreUnavailable):
        await store.put(spool, spool.finish(), "text/plain")
    assert leftovers(store) == []
    await store.close()


async def test_local_check_fails_when_the_root_is_gone(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "media")
    await store.check()
    shutil.rmtree(store.root)
    with pytest.raises(StoreUnavailable):
        await store.check()
    await store.close()


# -- S3 -------------------------------------------------------------------------------------------------------------


@pytest.mark.s3
async def test_s3_object_carries_the_content_type_and_the_prefix(moto: MotoServer, open_s3: OpenS3) -> None:
    moto.create_bucket("prefixed")
    store = open_s3(moto.endpoint, "prefixed", prefix="tenant-a/")
    key = await put_bytes(store, b"\xff\xd8\xff photo", "image/jpeg")
    assert key.startswith("tenant-a/blobs/")
    assert BLOB_KEY.fullmatch(key.removeprefix("tenant-a/"))
    head = moto.client().head_object(Bucket="prefixed", Key=key)
    assert head["ContentType"] == "image/jpeg"
    assert head["ContentLength"] == 9
    assert await read_all(store, key) == b"\xff\xd8\xff photo"


async def _assert_every_call_is_unavailable(store: S3Store, key: str) -> None:
    spool = spooled(store, b"written during the outage")
    with pytest.raises(StoreUnavailable):
        await store.put(spool, spool.finish(), "text/plain")
    assert not spool.path.exists()
    with pytest.raises(StoreUnavailable):
        await read_all(store, key)
    with pytest.raises(StoreUnavailable):
        await store.exists(key)
    with pytest.raises(StoreUnavailable):
        await store.delete(key)
    with pytest.raises(StoreUnavailable):
        await store.check()


@pytest.mark.s3
async def test_s3_down_is_store_unavailable_and_recovers(open_s3: OpenS3) -> None:
    with MotoServer() as moto:
        moto.create_bucket("outage")
        store = open_s3(moto.endpoint, "outage")
        key = await put_bytes(store, b"before")
        moto.stop()
        started = time.monotonic()
        await _assert_every_call_is_unavailable(store, key)
        assert time.monotonic() - started < 15  # refused connections fail fast, retries included
        assert leftovers(store) == []
        moto.restart()  # same port, same store object: its connection pool must recover by itself
        moto.create_bucket("outage")
        again = await put_bytes(store, b"after")
        assert await read_all(store, again) == b"after"
        await store.check()


async def drain(reader: AsyncIterator[bytes], sizes: list[int]) -> None:
    async for chunk in reader:
        sizes.append(len(chunk))


@pytest.mark.s3
async def test_s3_dying_mid_download_is_store_unavailable(open_s3: OpenS3) -> None:
    with MotoServer() as moto:
        moto.create_bucket("cut")
        store = open_s3(moto.endpoint, "cut")
        key = await put_bytes(store, os.urandom(50 * MB))
        reader = store.read(key, chunk_size=256 * 1024)
        received = [len(await anext(reader))]
        moto.stop()
        with pytest.raises(StoreUnavailable):
            await drain(reader, received)
        assert sum(received) < 50 * MB


@pytest.mark.s3
async def test_s3_missing_bucket_is_unavailable(moto: MotoServer, open_s3: OpenS3) -> None:
    store = open_s3(moto.endpoint, "no-such-bucket")
    with pytest.raises(StoreUnavailable, match="does not exist"):
        await store.check()
    # A deployment without its bucket cannot store anything: 503, not a 404 and not boto3's S3UploadFailedError.
    spool = spooled(store, b"nowhere to go")
    with pytest.raises(StoreUnavailable):
        await store.put(spool, spool.finish(), "text/plain")
    assert leftovers(store) == []
    with pytest.raises(StoreUnavailable):
        await read_all(store, store.key_for("0" * 64))


@pytest.mark.s3
async def test_s3_refused_credentials_are_unavailable(open_s3: OpenS3) -> None:
    # moto checks signatures against its IAM when INITIAL_NO_AUTH_ACTION_COUNT is 0; our key is unknown there.
    with MotoServer(env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"}) as moto:
        store = open_s3(moto.endpoint, "locked")
        await _assert_every_call_is_unavailable(store, store.key_for("0" * 64))
        assert leftovers(store) == []


@pytest.mark.s3
async def test_s3_big_upload_goes_in_parts(moto: MotoServer, open_s3: OpenS3) -> None:
    moto.create_bucket("parts")
    store = open_s3(moto.endpoint, "parts")
    data = os.urandom(20 * MB)
    spool = spooled(store, data)
    info = spool.finish()
    key = await store.put(spool, info, "video/mp4")
    etag = moto.client().head_object(Bucket="parts", Key=key)["ETag"]
    assert etag.strip('"').endswith("-3")  # 8 + 8 + 4 MB: multipart, so memory stays bounded
    assert hashlib.sha256(await read_all(store, key)).hexdigest() == info.sha256
