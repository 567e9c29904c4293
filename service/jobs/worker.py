"""`survey worker`: takes jobs from PostgreSQL and runs them, beside the web workers or on another machine.

Any number of workers can run against the same database and media store: each claims ready jobs with
FOR UPDATE SKIP LOCKED (queries.py), so no two run the same job, and renews the lease of those it runs every third
of `job_lease_s`. A worker that dies stops renewing; its jobs become ready when their lease ends and are taken over
(their attempt was counted when claimed, so a job that kills its worker every time ends `failed`, not in a loop).
A job that raises is retried after `job_backoff_s` x 4^(attempt - 1) (capped), until `job_max_attempts`.

Photo work is CPU-bound and must never slow intake: the process lowers its own priority (`worker_nice`) before it
starts, and runs at most `worker_concurrency` jobs at once, CPU work in as many threads (Pillow releases the GIL
while it decodes, resizes and encodes).

SIGTERM or SIGINT stops claiming; running jobs get a few seconds to finish, and the rest are handed back at once
(queued again without spending their attempt). `--drain` exits once no job of its kinds is due (tests, benchmarks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from service.evidence.config import EvidenceConfig
from service.evidence.jobs import run_evidence_job, run_photo_job

from . import queries
from .context import JobContext
from .housekeeping import run_sweep
from .queue import PRIORITY

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator
    from uuid import UUID

    from service.db.pool import Connection
    from service.resources import Resources
    from service.settings import Settings

    from .context import Outcome
    from .queries import ClaimedJob

__all__ = ["ALL_KINDS", "HANDLERS", "Worker", "run_worker"]

log = logging.getLogger(__name__)

HANDLERS: dict[str, Callable[[JobContext], Awaitable[Outcome]]] = {
    "photo": run_photo_job,
    "evidence": run_evidence_job,
    "housekeeping": run_sweep,
}
ALL_KINDS = tuple(HANDLERS)
# Running jobs get this long to finish after a stop is asked; then they are handed back.
_STOP_GRACE_S = 10.0
# A draining worker also waits for jobs due this soon (an evidence job waiting for its photos).
_DRAIN_HORIZON_S = 5.0


def run_worker(settings: Settings, *, drain: bool = False, kinds: list[str] | None = None) -> int:
    _lower_priority(settings.worker_nice, idle=settings.worker_idle)
    return asyncio.run(_main(settings, drain=drain, kinds=kinds))


def _lower_priority(nice: int, *, idle: bool) -> None:
    """Raise our niceness to `nice` (never lower it: that needs privileges and would slow intake), and with `idle`
    move to SCHED_IDLE where there is one (Linux): the kernel then runs us only on a CPU nothing else wants."""
    current = os.nice(0)
    if nice > current:
        os.nice(nice - current)
    if idle and hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError as exc:  # a container that forbids it: niceness alone still applies
            log.warning("worker: cannot use SCHED_IDLE: %s", exc)


async def _main(settings: Settings, *, drain: bool, kinds: list[str] | None) -> int:
    from service.resources import open_resources

    config = EvidenceConfig(settings)
    try:
        config.boundaries  # noqa: B018 - load the commune polygons now: a bad file stops the worker at once
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.error("worker: cannot read EVIDENCE_COMMUNE_BOUNDARIES: %s", exc)  # noqa: TRY400 - the reason is enough
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    pool_size = settings.worker_concurrency + 2
    async with open_resources(settings.with_changes(db_pool_min=1, db_pool_max=pool_size)) as res:
        worker = Worker(res, drain=drain, kinds=kinds, evidence=config)
        await worker.run(stop)
    return 0


class Worker:
    def __init__(
        self,
        res: Resources,
        *,
        drain: bool = False,
        kinds: list[str] | None = None,
        evidence: EvidenceConfig | None = None,
    ) -> None:
        self.res = res
        self.settings = res.settings
        self.drain = drain
        self.kinds = sorted(kinds) if kinds else None
        self.concurrency = max(1, self.settings.worker_concurrency)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.evidence = evidence or EvidenceConfig(self.settings)
        self.cpu = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="job-cpu")
        self.running: dict[UUID, asyncio.Task[None]] = {}
        self._next_exhausted_check = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        idle = hasattr(os, "sched_getscheduler") and os.sched_getscheduler(0) == getattr(os, "SCHED_IDLE", None)
        log.info(
            "worker %s started: %d job(s) at once, nice %d%s, kinds %s",
            self.name,
            self.concurrency,
            os.nice(0),
            " (SCHED_IDLE)" if idle else "",
            ",".join(self.kinds or ALL_KINDS),
        )
        await self._ensure_recurring()
        stopping = asyncio.create_task(stop.wait())
        heartbeat = asyncio.create_task(self._heartbeat())
        orphaned = asyncio.create_task(_stop_when_orphaned(stop))
        try:
            while not stop.is_set():
                free = self.concurrency - len(self.running)
                claimed = await self._claim(free) if free > 0 else []
                if self.drain and not self.running and not claimed and await self._nothing_due():
                    break
                for job in claimed:
                    self.running[job.claim] = asyncio.create_task(self._run(job))
                more = len(claimed) == free and free > 0
                await asyncio.wait(
                    [stopping, *self.running.values()],
                    timeout=0 if more else self.settings.worker_poll_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
        finally:
            heartbeat.cancel()
            stopping.cancel()
            orphaned.cancel()
            await self._shutdown()
        log.info("worker %s stopped", self.name)

    async def _ensure_recurring(self) -> None:
        if self.kinds is not None and "housekeeping" not in self.kinds:
            return
        with _logged("ensuring the housekeeping job"):
            async with self.res.pool.acquire() as conn:
                await queries.enqueue_missing(conn, "housekeeping", ["sweep"], priority=PRIORITY["housekeeping"])

    async def _claim(self, free: int) -> list[ClaimedJob]:
        try:
            async with self.res.pool.acquire() as conn:
                now = asyncio.get_running_loop().time()
                if now >= self._next_exhausted_check:
                    # Jobs whose worker died on their last attempt; looked for once per half lease, not per claim.
                    self._next_exhausted_check = now + self.settings.job_lease_s / 2
                    failed = await queries.fail_exhausted(conn, max_attempts=self.settings.job_max_attempts)
                    if failed:
                        log.warning("%d job(s) failed for good: their worker stopped during every attempt", failed)
                return await queries.claim_jobs(
                    conn,
                    limit=free,
                    lease_s=self.settings.job_lease_s,
                    claimed_by=self.name,
                    kinds=self.kinds,
                )
        except Exception:
            # The database restarting must not end the worker: try again at the next poll.
            log.exception("worker: failed claiming jobs")
            return []

    async def _nothing_due(self) -> bool:
        kinds = self.kinds or [k for k in ALL_KINDS if k != "housekeeping"]
        try:
            async with self.res.pool.acquire() as conn:
                return await queries.pending_soon(conn, list(kinds), within_s=_DRAIN_HORIZON_S) == 0
        except Exception:
            log.exception("worker: failed counting due jobs")
            return False

    async def _run(self, job: ClaimedJob) -> None:
        try:
            if job.previous_state == "running":
                log.warning("taking over %s job %s (attempt %d): its worker stopped", job.kind, job.key, job.attempts)
            handler = HANDLERS[job.kind]
            async with self.res.pool.acquire() as conn:
                try:
                    outcome = await handler(JobContext(self.res, self.evidence, self.cpu, job, conn))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a job's failure is recorded and retried, never fatal to the worker
                    log.warning("%s job %s failed (attempt %d)", job.kind, job.key, job.attempts, exc_info=True)
                    await self._failed(job, f"{type(exc).__name__}: {exc}")
                else:
                    await self._settle(conn, job, outcome)
        except Exception:  # no connection for the job (the database is down): its lease ends and it runs again
            log.exception("worker: %s job %s could not run", job.kind, job.key)
        finally:
            self.running.pop(job.claim, None)

    async def _settle(self, conn: Connection, job: ClaimedJob, outcome: Outcome) -> None:
        with _logged(f"recording the end of {job.kind} job {job.key}"):
            if outcome.kind == "defer":
                await queries.defer_job(conn, job.id, job.claim, delay_s=outcome.delay_s)
            elif outcome.kind == "again":
                await queries.schedule_next(conn, job.id, job.claim, after_s=outcome.delay_s)
            elif not await queries.finish_job(conn, job.id, job.claim):
                log.warning("%s job %s finished after its lease was taken over", job.kind, job.key)

    async def _failed(self, job: ClaimedJob, error: str) -> None:
        backoff = min(self.settings.job_backoff_max_s, self.settings.job_backoff_s * 4 ** (job.attempts - 1))
        with _logged(f"recording the failure of {job.kind} job {job.key}"):
            async with self.res.pool.acquire() as conn:
                await queries.retry_or_fail(
                    conn,
                    job.id,
                    job.claim,
                    error=error,
                    backoff_s=backoff,
                    max_attempts=self.settings.job_max_attempts,
                )

    async def _heartbeat(self) -> None:
        interval = max(0.2, self.settings.job_lease_s / 3)
        while True:
            await asyncio.sleep(interval)
            if self.running:
                with _logged("renewing leases"):
                    async with self.res.pool.acquire() as conn:
                        await queries.extend_leases(conn, list(self.running), lease_s=self.settings.job_lease_s)

    async def _shutdown(self) -> None:
        if self.running:
            _, pending = await asyncio.wait(list(self.running.values()), timeout=_STOP_GRACE_S)
            if pending:
                claims = list(self.running)
                with _logged("handing jobs back"):
                    async with self.res.pool.acquire() as conn:
                        await queries.release_jobs(conn, claims)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
        self.cpu.shutdown(wait=False, cancel_futures=True)


async def _stop_when_orphaned(stop: asyncio.Event) -> None:
    """A worker started by `serve` stops when serve is gone, however it went (its pid is in SURVEY_WORKER_PARENT)."""
    from .supervisor import PARENT_ENV

    parent = os.environ.get(PARENT_ENV)
    if not parent or not parent.isdigit():
        return
    while os.getppid() == int(parent):  # noqa: ASYNC110 - nothing signals a parent's death portably: poll
        await asyncio.sleep(1.0)
    log.warning("worker: the serve process that started it is gone; stopping")
    stop.set()


@contextlib.contextmanager
def _logged(what: str) -> Iterator[None]:
    """The worker's own bookkeeping must survive a database restart: log, and carry on at the next poll."""
    try:
        yield
    except Exception:  # the loop goes on; the lease and the next poll repair what was missed
        log.exception("worker: failed %s", what)
