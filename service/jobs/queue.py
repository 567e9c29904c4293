"""Enqueueing, for the code whose transactions make work for the workers (the change record, blob rows).

Both run inside the caller's open transaction: the job exists exactly when what made it necessary commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import queries

if TYPE_CHECKING:
    from service.db.pool import Connection

    from .queries import JobKind

__all__ = [
    "PRIORITY",
    "enqueue_evidence",
    "enqueue_photo_analysis",
    "evidence_key",
    "evidence_pending",
    "parse_evidence_key",
]

# Lower runs first: a photo's analysis before the checks of the households that show it, and both before the sweep.
PRIORITY: dict[JobKind, int] = {"photo": 0, "evidence": 1, "housekeeping": 2}


def evidence_key(form_id: int, submission_id: int) -> str:
    """A household's evidence job key: its form (which names the project, the reach of the check) and its id."""
    return f"{form_id}:{submission_id}"


def parse_evidence_key(key: str) -> tuple[int, int]:
    form_id, _, submission_id = key.partition(":")
    return int(form_id), int(submission_id)


async def enqueue_evidence(conn: Connection, households: list[tuple[int, int]]) -> None:
    """Check these (form id, submission id) households (again): queued once however often asked, and run once
    more if running now."""
    keys = [evidence_key(form_id, submission_id) for form_id, submission_id in households]
    await queries.enqueue(conn, "evidence", keys, priority=PRIORITY["evidence"])


async def enqueue_photo_analysis(conn: Connection, blob_ids: list[int]) -> None:
    """Analyse these photo contents unless done or pending (the same bytes are analysed once)."""
    await queries.enqueue_photo_jobs(conn, blob_ids, priority=PRIORITY["photo"])


async def evidence_pending(conn: Connection, form_id: int, submission_id: int) -> bool:
    """Whether the household's checks are queued or running (so what is stored may be about to change)."""
    key = evidence_key(form_id, submission_id)
    states = await queries.pending_states(conn, "evidence", [key])
    return states.get(key) in {"queued", "running"}
