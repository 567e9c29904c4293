"""The housekeeping sweep on both media stores: store objects no row names go once older than the grace period, an
upload in flight keeps its file, unreferenced blob rows go (their files a grace period later), old rows are purged."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import TYPE_CHECKING

import pytest

from service.media.blobs import NewBlob, claim_new_blobs, store_bytes, upsert_blobs
from service.resources import open_resources
from tests.conftest import make_settings
from tests.evidence.kit import fetch, publish
from tests.support.s3 import ACCESS_KEY, SECRET_KEY
from tests.support.worker import run_worker

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from service.resources import Resources

GRACE_S = 1.0


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def on_store(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> AsyncIterator[Resources]:
    settings = make_settings(database_url, tmp_path, media_orphan_grace_s=int(GRACE_S))
    if request.param == "s3":
        moto = request.getfixturevalue("moto")
        if not moto.running:
            moto.restart()
        bucket = f"sweep-{uuid.uuid4().hex[:12]}"
        moto.create_bucket(bucket)
        settings = settings.with_changes(
            media_backend="s3",
            s3_endpoint_url=moto.endpoint,
            s3_bucket=bucket,
            s3_access_key_id=ACCESS_KEY,
            s3_secret_access_key=SECRET_KEY,
        )
    async with open_resources(settings) as resources:
        yield resources


async def _sweep(res: Resources) -> dict[str, int]:
    from service.jobs.housekeeping import sweep

    return await sweep(res)


async def _with_row(res: Resources, data: bytes) -> str:
    stored = await store_bytes(res.store, data, want_md5=False)
    async with res.pool.acquire() as conn, conn.transaction():
        blob = NewBlob(bytes.fromhex(stored.sha256), stored.size, "application/octet-stream", stored.storage_key)
        await upsert_blobs(conn, [blob], analyse=False)
    return stored.storage_key


async def test_files_no_row_names_go_after_the_grace_period(on_store: Resources) -> None:
    res = on_store
    orphan = (await store_bytes(res.store, b"left by a crash before the commit", want_md5=False)).storage_key
    kept = await _with_row(res, b"a file with its row")
    # Too young: it may belong to an upload in flight.
    await _sweep(res)
    assert await res.store.exists(orphan)
    await asyncio.sleep(GRACE_S + 0.2)
    # The real worker runs the sweep (the migration queued it; it queues itself again for its next run).
    output = run_worker(res.settings, kinds="housekeeping")
    assert f"deleted {orphan}" in output
    assert not await res.store.exists(orphan)
    assert await res.store.exists(kept)
    [job] = await fetch(
        res, "select state, run_after > now() + interval '30 minutes' as later from jobs where kind = 'housekeeping'"
    )
    assert (job["state"], job["later"]) == ("queued", True)


async def test_an_upload_in_flight_keeps_its_file(on_store: Resources) -> None:
    res = on_store
    data = b"the same photo, sent again by a phone"
    stored = await store_bytes(res.store, data, want_md5=False)
    sha = bytes.fromhex(stored.sha256)
    await asyncio.sleep(GRACE_S + 0.2)
    # The upload has put the file and opened its transaction: it holds the content's lock and checked the file.
    async with res.pool.acquire() as conn, conn.transaction():
        await claim_new_blobs(conn, res.store, [(sha, stored.storage_key)])
        sweeping = asyncio.create_task(_sweep(res))
        await asyncio.sleep(0.5)
        assert not sweeping.done()  # waiting for the upload's lock
        await upsert_blobs(
            conn, [NewBlob(sha, stored.size, "application/octet-stream", stored.storage_key)], analyse=False
        )
    counts = await sweeping
    assert counts["objects"] == 0
    assert await res.store.exists(stored.storage_key)
    # A file put again by a new upload is young again, whatever its first write's age.
    again = await store_bytes(res.store, b"an old orphan", want_md5=False)
    await asyncio.sleep(GRACE_S + 0.2)
    await store_bytes(res.store, b"an old orphan", want_md5=False)
    await _sweep(res)
    assert await res.store.exists(again.storage_key)


async def test_blob_rows_nothing_references_go_and_their_files_a_grace_period_later(on_store: Resources) -> None:
    res = on_store
    await publish(res)  # the form's XLSForm is a blob its version references: it stays
    key = await _with_row(res, b"a photo of a household since purged")
    sha = hashlib.sha256(b"a photo of a household since purged").digest()
    await asyncio.sleep(GRACE_S + 0.2)  # the file is old enough to go, were it an orphan
    async with res.pool.acquire() as conn:
        await conn.execute("update blobs set created_at = now() - interval '1 hour'")
    counts = await _sweep(res)
    assert counts["blobRows"] == 1
    assert await fetch(res, "select 1 from blobs where sha256 = $1", sha) == []
    assert len(await fetch(res, "select 1 from blobs")) == 1  # the form's
    # The file waits for its tombstone to age: an upload that saw the row a moment ago writes it back.
    assert counts["objects"] == 0
    assert await res.store.exists(key)
    async with res.pool.acquire() as conn:
        await conn.execute("update blob_tombstones set deleted_at = now() - interval '1 hour'")
    await _sweep(res)
    assert not await res.store.exists(key)
    assert await fetch(res, "select 1 from blob_tombstones") == []


async def test_old_job_rows_and_expired_sign_in_failures_go(resources: Resources) -> None:
    async with resources.pool.acquire() as conn:
        await conn.execute(
            """insert into jobs (kind, key, state, finished_at) values
                ('evidence', '1:1', 'done', now() - interval '30 days'),
                ('evidence', '1:2', 'done', now() - interval '1 hour'),
                ('photo', '7', 'failed', now() - interval '30 days')"""
        )
        await conn.execute(
            """insert into sign_in_failures (key, failures, window_started_at, last_failed_at) values
                ('address:10.0.0.1', 3, now() - interval '2 days', now() - interval '2 days'),
                ('address:10.0.0.2', 3, now(), now())"""
        )
    counts = await _sweep(resources)
    assert (counts["jobs"], counts["signInFailures"]) == (2, 1)
    assert [r["key"] for r in await fetch(resources, "select key from jobs where kind = 'evidence'")] == ["1:2"]
    assert [r["key"] for r in await fetch(resources, "select key from sign_in_failures")] == ["address:10.0.0.2"]
