"""The change record: the one hook every transaction that changes a household goes through.

Ingest calls `record_change` for a new household, files that arrive or are replaced, and an edit; review decisions
and comments will call it the same way. It runs inside the caller's transaction, so a change is recorded exactly
when it commits and never when it rolls back. It bumps `submissions.updated_at` and writes a `submission_changes`
row, which a reader of the feed takes in transaction order up to the oldest transaction still running, so it never
skips one that commits late (docs/database.md). The evidence checks of the household (service/evidence) are enqueued
here too, in the same transaction, so that a crash can never lose one: for a new household, an edit and files that
arrive; not for the evidence job's own change (that would loop) nor for reviews, comments and stages.

Changes made to many households in one statement (areas recomputed after areas are loaded) insert their
`submission_changes` rows in that same statement instead (areas/queries.py), for the same reasons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from service.jobs.queue import enqueue_evidence

if TYPE_CHECKING:
    from service.db.pool import Connection

__all__ = ["ChangeKind", "record_change"]

ChangeKind = Literal[
    "created", "edited", "files", "review", "comment", "evidence", "areas", "deleted", "restored", "stage"
]
# Changes after which the household's photo evidence is checked again.
_CHECKED: frozenset[ChangeKind] = frozenset({"created", "edited", "files"})


async def record_change(
    conn: Connection,
    *,
    form_id: int,
    submission_id: int,
    kind: ChangeKind,
    version_id: int | None = None,
    actor_user_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        """with change as (
            insert into submission_changes (form_id, submission_id, kind, version_id, actor_user_id, details)
            values ($1, $2, $3, $4, $5, $6)
        )
        update submissions set updated_at = now() where id = $2""",
        form_id,
        submission_id,
        kind,
        version_id,
        actor_user_id,
        details,
    )
    if kind in _CHECKED:
        await enqueue_evidence(conn, [(form_id, submission_id)])
