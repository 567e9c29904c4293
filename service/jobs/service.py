"""The jobs overview for administrators: what waits, what runs, what failed and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.auth.access import require_admin

from . import queries
from .models import JobErrorOut, JobsOut

if TYPE_CHECKING:
    from service.auth.models import Actor
    from service.resources import Resources

__all__ = ["jobs_overview"]

_ERRORS_SHOWN = 20


async def jobs_overview(res: Resources, actor: Actor) -> JobsOut:
    require_admin(actor)
    async with res.pool.acquire() as conn:
        counts = await queries.job_counts(conn)
        waited = await queries.oldest_ready(conn)
        errors = await queries.last_errors(conn, limit=_ERRORS_SHOWN)
    by_kind: dict[str, dict[str, int]] = {}
    for row in counts:
        by_kind.setdefault(row.kind, {"queued": 0, "running": 0, "done": 0, "failed": 0})[row.state] = row.count
    return JobsOut(
        counts=by_kind,
        oldest_ready_s=round(waited, 3) if waited is not None else None,
        last_errors=[
            JobErrorOut(
                id=e.id, kind=e.kind, key=e.key, state=e.state, attempts=e.attempts, error=e.last_error, at=e.updated_at
            )
            for e in errors
        ],
    )
