"""All SQL on `jobs`: enqueue (inside the caller's transaction), claim, lease, finish, retry, overview.

The life of a job (migration `*_evidence_jobs.sql` has the table):

    queued ──claim──▶ running ──finish──▶ done              (rerun asked meanwhile: back to queued)
      ▲                 │  └──fail──▶ queued after a backoff, or failed once the attempts are spent
      └──lease ends─────┘        (a worker that died: the job is claimed again; its attempt was counted at claim)

At most one pending (queued or running) job per (kind, key), kept by a partial unique index: enqueueing what is
already queued changes nothing, and enqueueing what is running sets `rerun` so it runs once more afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal
from uuid import UUID

import msgspec

from service.db.rows import many

if TYPE_CHECKING:
    from service.db.pool import Connection

__all__ = [
    "ClaimedJob",
    "JobError",
    "JobKind",
    "StateCount",
    "claim_jobs",
    "defer_job",
    "enqueue",
    "enqueue_missing",
    "enqueue_photo_jobs",
    "extend_leases",
    "fail_exhausted",
    "finish_job",
    "job_counts",
    "last_errors",
    "oldest_ready",
    "pending_states",
    "pending_soon",
    "purge_finished",
    "purge_sign_in_failures",
    "release_jobs",
    "retry_or_fail",
    "schedule_next",
]

JobKind = Literal["photo", "evidence", "housekeeping"]


class ClaimedJob(msgspec.Struct, frozen=True):
    id: int
    kind: JobKind
    key: str
    attempts: int
    claim: UUID
    created_at: datetime
    # 'running' when the job was taken over after its lease ended: the worker holding it died.
    previous_state: str


class StateCount(msgspec.Struct, frozen=True):
    kind: str
    state: str
    count: int


class JobError(msgspec.Struct, frozen=True):
    id: int
    kind: str
    key: str
    state: str
    attempts: int
    last_error: str
    updated_at: datetime


class _KeyState(msgspec.Struct, frozen=True):
    key: str
    state: str


_PENDING = "state in ('queued', 'running')"


async def enqueue(conn: Connection, kind: JobKind, keys: list[str], *, priority: int, delay_s: float = 0) -> None:
    """Ask for a job per key, in the caller's transaction: queued ones stay (run no later than asked), running ones
    run once more after they finish. Keys are sorted so concurrent transactions lock job rows in the same order."""
    if not keys:
        return
    await conn.execute(
        f"""insert into jobs (kind, key, priority, run_after)
        select $1, k, $3, now() + make_interval(secs => $4) from unnest($2::text[]) as k order by k
        on conflict (kind, key) where {_PENDING} do update
        set rerun = jobs.rerun or jobs.state = 'running',
            run_after = case when jobs.state = 'queued' then least(jobs.run_after, excluded.run_after)
                             else jobs.run_after end,
            updated_at = now()""",
        kind,
        sorted(set(keys)),
        priority,
        float(delay_s),
    )


async def enqueue_missing(conn: Connection, kind: JobKind, keys: list[str], *, priority: int) -> None:
    """Ask for a job per key unless one is pending already (for work whose input never changes, like the analysis
    of a photo's bytes: asking again while it runs must not run it twice)."""
    if not keys:
        return
    await conn.execute(
        f"""insert into jobs (kind, key, priority)
        select $1, k, $3 from unnest($2::text[]) as k order by k
        on conflict (kind, key) where {_PENDING} do nothing""",
        kind,
        sorted(set(keys)),
        priority,
    )


async def enqueue_photo_jobs(conn: Connection, blob_ids: list[int], *, priority: int) -> None:
    """A photo job per content not analysed yet and not pending (its bytes never change: once is enough)."""
    if not blob_ids:
        return
    await conn.execute(
        f"""insert into jobs (kind, key, priority)
        select 'photo', b::text, $2 from unnest($1::bigint[]) as b
        where not exists (select 1 from photo_analyses p where p.blob_id = b)
        order by b::text
        on conflict (kind, key) where {_PENDING} do nothing""",
        sorted(set(blob_ids)),
        priority,
    )


async def fail_exhausted(conn: Connection, *, max_attempts: int) -> int:
    """Jobs whose lease ended on their last attempt: their worker died every time (a photo that crashes the
    decoder, a job that runs out of memory). They fail for good instead of taking workers down forever."""
    status = await conn.execute(
        """update jobs set state = 'failed', claim = null, finished_at = now(), updated_at = now(),
               last_error = left(coalesce(last_error || ' | ', '')
                   || 'the worker stopped during every attempt (killed, crashed or out of memory)', 2000)
        where state = 'running' and run_after <= now() and attempts >= $1""",
        max_attempts,
    )
    return int(status.rpartition(" ")[2])


async def claim_jobs(
    conn: Connection, *, limit: int, lease_s: float, claimed_by: str, kinds: list[str] | None = None
) -> list[ClaimedJob]:
    """Take up to `limit` ready jobs (lowest priority first), count the attempt and lease them for `lease_s`."""
    rows = await conn.fetch(
        f"""with ready as (
            select id, state from jobs
            where {_PENDING} and run_after <= now() and ($4::text[] is null or kind = any($4::text[]))
            order by priority, run_after, id
            limit $1
            for update skip locked
        )
        update jobs j set state = 'running', attempts = j.attempts + 1,
            run_after = now() + make_interval(secs => $2), claim = gen_random_uuid(), claimed_by = $3,
            updated_at = now()
        from ready where j.id = ready.id
        returning j.id, j.kind, j.key, j.attempts, j.claim, j.created_at, ready.state as previous_state""",
        limit,
        float(lease_s),
        claimed_by,
        kinds,
    )
    return many(rows, ClaimedJob)


async def extend_leases(conn: Connection, claims: list[UUID], *, lease_s: float) -> None:
    if not claims:
        return
    await conn.execute(
        """update jobs set run_after = now() + make_interval(secs => $2)
        where claim = any($1::uuid[]) and state = 'running'""",
        claims,
        float(lease_s),
    )


async def finish_job(conn: Connection, job_id: int, claim: UUID) -> bool:
    """Done, or queued again at once when a rerun was asked while it ran. False when the lease was lost."""
    status = await conn.execute(
        """update jobs set state = case when rerun then 'queued' else 'done' end,
            attempts = case when rerun then 0 else attempts end, rerun = false, run_after = now(), claim = null,
            finished_at = case when rerun then null else now() end, updated_at = now()
        where id = $1 and claim = $2""",
        job_id,
        claim,
    )
    return status != "UPDATE 0"


async def schedule_next(conn: Connection, job_id: int, claim: UUID, *, after_s: float) -> None:
    """A recurring job (the housekeeping sweep) stays pending: queued again for its next run."""
    await conn.execute(
        """update jobs set state = 'queued', attempts = 0, rerun = false, claim = null, last_error = null,
            run_after = now() + make_interval(secs => $3), updated_at = now()
        where id = $1 and claim = $2""",
        job_id,
        claim,
        float(after_s),
    )


async def defer_job(conn: Connection, job_id: int, claim: UUID, *, delay_s: float) -> None:
    """Not ready to run yet (waiting for other jobs): queued again without spending an attempt."""
    await conn.execute(
        """update jobs set state = 'queued', attempts = greatest(attempts - 1, 0), rerun = false, claim = null,
            run_after = now() + make_interval(secs => $3), updated_at = now()
        where id = $1 and claim = $2""",
        job_id,
        claim,
        float(delay_s),
    )


async def retry_or_fail(
    conn: Connection, job_id: int, claim: UUID, *, error: str, backoff_s: float, max_attempts: int
) -> None:
    """After a failed attempt: queued again after `backoff_s`, or failed for good once the attempts are spent (a
    rerun asked meanwhile starts the count again: the new data may not fail)."""
    await conn.execute(
        """update jobs set
            state = case when attempts >= $5 and not rerun then 'failed' else 'queued' end,
            finished_at = case when attempts >= $5 and not rerun then now() end,
            attempts = case when rerun then 0 else attempts end,
            rerun = false, claim = null, last_error = left($3, 2000),
            run_after = now() + make_interval(secs => $4), updated_at = now()
        where id = $1 and claim = $2""",
        job_id,
        claim,
        error,
        float(backoff_s),
        max_attempts,
    )


async def release_jobs(conn: Connection, claims: list[UUID]) -> None:
    """A worker stopping on request hands its running jobs back at once, without spending their attempts."""
    if not claims:
        return
    await conn.execute(
        """update jobs set state = 'queued', attempts = greatest(attempts - 1, 0), claim = null, run_after = now(),
            updated_at = now()
        where claim = any($1::uuid[]) and state = 'running'""",
        claims,
    )


async def pending_states(conn: Connection, kind: JobKind, keys: list[str]) -> dict[str, str]:
    """The latest job state per key: a pending one when there is one, else the last finished one."""
    rows = await conn.fetch(
        """select distinct on (key) key, state from jobs
        where kind = $1 and key = any($2::text[])
        order by key, (state in ('queued', 'running')) desc, id desc""",
        kind,
        keys,
    )
    return {row.key: row.state for row in many(rows, _KeyState)}


async def job_counts(conn: Connection) -> list[StateCount]:
    rows = await conn.fetch("select kind, state, count(*) as count from jobs group by kind, state order by kind, state")
    return many(rows, StateCount)


async def oldest_ready(conn: Connection) -> float | None:
    """Seconds the oldest ready job has waited (how far behind the workers are), or None with nothing ready."""
    waited: float | None = await conn.fetchval(
        f"""select extract(epoch from now() - min(run_after))::float8 from jobs
        where {_PENDING} and run_after <= now()"""
    )
    return waited


async def last_errors(conn: Connection, *, limit: int) -> list[JobError]:
    rows = await conn.fetch(
        """select id, kind, key, state, attempts, last_error, updated_at from jobs
        where last_error is not null order by updated_at desc limit $1""",
        limit,
    )
    return many(rows, JobError)


async def purge_finished(conn: Connection, *, older_than_s: float) -> int:
    status = await conn.execute(
        """delete from jobs where state in ('done', 'failed')
        and finished_at < now() - make_interval(secs => $1)""",
        float(older_than_s),
    )
    return int(status.rpartition(" ")[2])


async def purge_sign_in_failures(conn: Connection, *, window_s: int) -> int:
    """Failure counters whose window is long over count as nothing (auth/queries.py); housekeeping removes them."""
    status = await conn.execute(
        "delete from sign_in_failures where window_started_at < now() - make_interval(secs => $1 * 2)",
        float(window_s),
    )
    return int(status.rpartition(" ")[2])


async def pending_soon(conn: Connection, kinds: list[str], *, within_s: float) -> int:
    """Pending jobs of these kinds due within `within_s` (running ones included): what a draining worker waits for."""
    count: int = await conn.fetchval(
        """select count(*) from jobs
        where kind = any($1::text[])
          and (state = 'running' or (state = 'queued' and run_after <= now() + make_interval(secs => $2)))""",
        kinds,
        float(within_s),
    )
    return count
