"""The job queue on a real database: enqueued exactly when the transaction commits, one pending job per key, reruns,
leases, retries with backoff up to a cap, and what the administrators' overview shows."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from service.auth.models import SYSTEM
from service.auth.service import create_user
from service.jobs import queries
from service.jobs.queue import enqueue_evidence, evidence_key
from tests.evidence.kit import FRONT, Household, fetch, publish, submit
from tests.support.photos import photo
from tests.support.worker import run_worker

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.resources import Resources
    from service.settings import Settings


async def _jobs(res: Resources, kind: str | None = None) -> list[dict[str, object]]:
    return await fetch(
        res,
        """select kind, key, state, attempts, rerun, last_error from jobs
        where $1::text is null or kind = $1 order by id""",
        kind,
    )


async def test_ingest_enqueues_in_its_own_transaction(resources: Resources) -> None:
    from datetime import UTC, datetime

    access = await publish(resources)
    now = datetime.now(UTC)
    household = Household("A", (16.46, 107.59, 10.0, 5.0), now, now, roof=None, files={FRONT: photo(1)})
    result = await submit(resources, access, household)
    jobs = await _jobs(resources)
    blob = await fetch(resources, "select id from blobs where content_type = 'image/jpeg'")
    assert [(j["kind"], j["key"], j["state"]) for j in jobs] == [
        ("housekeeping", "sweep", "queued"),  # from the migration
        ("photo", str(blob[0]["id"]), "queued"),
        ("evidence", evidence_key(1, result.submission_id), "queued"),
    ]

    # A transaction that rolls back leaves no job behind.
    async def refused() -> None:
        async with resources.pool.acquire() as conn, conn.transaction():
            await enqueue_evidence(conn, [(1, 999)])
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        await refused()
    assert len(await _jobs(resources, "evidence")) == 1


async def test_one_pending_job_per_key_and_a_rerun_when_asked_while_running(resources: Resources) -> None:
    async with resources.pool.acquire() as conn:
        await queries.enqueue(conn, "evidence", ["1:1"], priority=1)
        await queries.enqueue(conn, "evidence", ["1:1"], priority=1)
        assert len(await _jobs(resources, "evidence")) == 1
        [job] = await queries.claim_jobs(conn, limit=5, lease_s=60, claimed_by="test", kinds=["evidence"])
        assert (job.key, job.attempts, job.previous_state) == ("1:1", 1, "queued")
        # Asked again while it runs: it will run once more, after this run, and still only one row is pending.
        await queries.enqueue(conn, "evidence", ["1:1"], priority=1)
        [row] = await _jobs(resources, "evidence")
        assert (row["state"], row["rerun"]) == ("running", True)
        assert await queries.finish_job(conn, job.id, job.claim)
        [row] = await _jobs(resources, "evidence")
        assert (row["state"], row["rerun"], row["attempts"]) == ("queued", False, 0)
        [again] = await queries.claim_jobs(conn, limit=5, lease_s=60, claimed_by="test", kinds=["evidence"])
        assert await queries.finish_job(conn, again.id, again.claim)
        # A finished job no longer holds the key.
        await queries.enqueue(conn, "evidence", ["1:1"], priority=1)
    assert [r["state"] for r in await _jobs(resources, "evidence")] == ["done", "queued"]


async def test_a_lease_that_ends_hands_the_job_to_another_worker(resources: Resources) -> None:
    async with resources.pool.acquire() as conn:
        await queries.enqueue(conn, "evidence", ["2:2"], priority=1)
        [first] = await queries.claim_jobs(conn, limit=1, lease_s=0.2, claimed_by="dies", kinds=["evidence"])
        assert await queries.claim_jobs(conn, limit=1, lease_s=60, claimed_by="other", kinds=["evidence"]) == []
        await asyncio.sleep(0.3)
        [taken] = await queries.claim_jobs(conn, limit=1, lease_s=60, claimed_by="other", kinds=["evidence"])
        assert (taken.id, taken.attempts, taken.previous_state) == (first.id, 2, "running")
        # The first worker, back from the dead, changes nothing.
        assert not await queries.finish_job(conn, first.id, first.claim)
        # Its lease ends on the last attempt too: failed for good, with the reason.
        await queries.extend_leases(conn, [taken.claim], lease_s=0.1)
        await asyncio.sleep(0.2)
        assert await queries.fail_exhausted(conn, max_attempts=2) == 1
    [row] = await _jobs(resources, "evidence")
    assert row["state"] == "failed"
    assert "stopped during every attempt" in str(row["last_error"])


async def test_failures_back_off_then_fail_at_the_cap(resources: Resources) -> None:
    async with resources.pool.acquire() as conn:
        await queries.enqueue(conn, "evidence", ["3:3"], priority=1)
        [job] = await queries.claim_jobs(conn, limit=1, lease_s=60, claimed_by="t", kinds=["evidence"])
        await queries.retry_or_fail(conn, job.id, job.claim, error="boom", backoff_s=30, max_attempts=2)
        [row] = await _jobs(resources, "evidence")
        assert (row["state"], row["last_error"]) == ("queued", "boom")
        # Not before its backoff.
        assert await queries.claim_jobs(conn, limit=1, lease_s=60, claimed_by="t", kinds=["evidence"]) == []
        await conn.execute("update jobs set run_after = now() where kind = 'evidence'")
        [job] = await queries.claim_jobs(conn, limit=1, lease_s=60, claimed_by="t", kinds=["evidence"])
        await queries.retry_or_fail(conn, job.id, job.claim, error="boom again", backoff_s=30, max_attempts=2)
    [row] = await _jobs(resources, "evidence")
    assert (row["state"], row["attempts"], row["last_error"]) == ("failed", 2, "boom again")


async def test_the_real_worker_retries_a_failing_job_up_to_the_cap(resources: Resources, settings: Settings) -> None:
    async with resources.pool.acquire() as conn:
        await queries.enqueue_missing(conn, "photo", ["not-a-blob-id"], priority=0)
    run_worker(settings, kinds="photo", env={"JOB_MAX_ATTEMPTS": "3", "JOB_BACKOFF_S": "0.1"})
    [row] = await _jobs(resources, "photo")
    assert (row["state"], row["attempts"]) == ("failed", 3)
    assert str(row["last_error"]).startswith("ValueError: invalid literal for int()")


async def test_the_overview_is_for_administrators(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str], resources: Resources
) -> None:
    async with resources.pool.acquire() as conn:
        await queries.enqueue(conn, "evidence", ["4:4"], priority=1)
        [job] = await queries.claim_jobs(conn, limit=1, lease_s=60, claimed_by="t", kinds=["evidence"])
        await queries.retry_or_fail(conn, job.id, job.claim, error="KeyError: 'x'", backoff_s=0, max_attempts=5)
    response = await client.get("/v1/system/jobs", headers=admin_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["counts"]["evidence"] == {"queued": 1, "running": 0, "done": 0, "failed": 0}
    assert body["counts"]["housekeeping"]["queued"] == 1
    assert body["oldestReadyS"] >= 0
    assert body["lastErrors"][0]["kind"] == "evidence"
    assert body["lastErrors"][0]["error"] == "KeyError: 'x'"
    assert (await client.get("/v1/system/jobs")).status_code == 401
    await create_user(resources, SYSTEM, email="someone@example.org", password="a long password here")
    session = await client.post(
        "/v1/sessions", json={"email": "someone@example.org", "password": "a long password here"}
    )
    headers = {"Authorization": f"Bearer {session.json()['token']}"}
    assert (await client.get("/v1/system/jobs", headers=headers)).status_code == 403
