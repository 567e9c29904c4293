"""Review: a reviewer's decision on one household or many, comments, the versions' differences, the queue.

decide(approved | hasIssues | rejected)  → needs submission.review, the household in the reviewer's scope (404
                                           outside it), a reason from the project's list for hasIssues and
                                           rejected; recorded as a review row, a change and an audit entry
decide(edited) or an unknown state       → 400.8 (`edited` is set by the server when a new version arrives)
bulk decide                              → the same, for every household a filter selects (up to a limit), under
                                           one batch id; undo restores each one not decided on again since
comment                                  → needs submission.read (a viewer may comment; they decide nothing)
"""

from __future__ import annotations

import base64
import binascii
import itertools
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from service.areas import service as areas
from service.audits import record_audit
from service.classification import CLASSES
from service.errors import Problem
from service.forms.access import authorized_form
from service.stages.models import STAGES
from service.submissions import queries as submission_queries
from service.submissions.changes import record_change
from service.submissions.models import CheckCountsOut

from . import queries
from .models import DECIDABLE, QUEUE_SORTS, CommentOut, DiffOut, QueueItemOut, QueueOut, ReasonOut

if TYPE_CHECKING:
    from service.auth.access import Access, Scope
    from service.db.pool import Connection
    from service.resources import Resources
    from service.submissions.queries import SubmissionRow

    from .models import QueueFilter

__all__ = [
    "MAX_BULK",
    "add_comment",
    "bulk_decide",
    "decide",
    "diffs",
    "list_comments",
    "list_reasons",
    "queue",
    "undo_batch",
]

MAX_BULK = 5000
MAX_QUEUE_PAGE = 200
_CursorT = TypeVar("_CursorT", "_Cursor", "_RiskCursor")


async def list_reasons(res: Resources, access: Access) -> list[ReasonOut]:
    access.require("submission.read")
    async with res.pool.acquire() as conn:
        return [ReasonOut.from_row(row) for row in await queries.list_reasons(conn, access.project_id)]


async def _check_decision(conn: Connection, access: Access, state: str | None, reason: str | None) -> str:
    if state is None or state not in DECIDABLE:
        raise Problem.unexpected_value(
            "reviewState", "a reviewer may set hasIssues, approved or rejected (edited is set by the server)"
        )
    if state in {"hasIssues", "rejected"} and not reason:
        raise Problem.missing_parameter("reason")
    if reason is not None:
        reasons = {r.code: r for r in await queries.list_reasons(conn, access.project_id)}
        if reason not in reasons or state not in reasons[reason].applies_to:
            raise Problem.unexpected_value("reason", f"{reason!r} is not a reason for {state} in this project")
    return state


async def decide(
    res: Resources,
    access: Access,
    xml_form_id: str,
    instance_id: str,
    *,
    state: str | None,
    reason: str | None,
    note: str | None,
) -> SubmissionRow:
    """Set a household's review state (Central's PATCH …/submissions/{instanceId}); returns it as it is now."""
    scope = access.scope("submission.review")
    note = _clean_note(note)
    async with res.pool.acquire() as conn, conn.transaction():
        form = await authorized_form(conn, access, xml_form_id, "submission.review")
        decision = await _check_decision(conn, access, state, reason)
        household = await queries.lock_household(conn, scope, form.id, instance_id)
        if household is None:
            raise Problem.not_found("submission")
        actor_id = access.actor.user_id
        await queries.record_decision(
            conn, household, actor_user_id=actor_id, to_state=decision, reason=reason, note=note
        )
        details = {"instanceId": instance_id, "reviewState": decision, "reason": reason}
        await record_change(
            conn,
            form_id=form.id,
            submission_id=household.id,
            kind="review",
            version_id=household.current_version_id,
            actor_user_id=actor_id,
            details=details,
        )
        await record_audit(
            conn,
            "submission.update",
            actor_user_id=actor_id,
            project_id=access.project_id,
            form_id=form.id,
            details={**details, "from": household.review_state, "note": note},
        )
        row = await submission_queries.get_submission(conn, scope, form.id, instance_id)
    assert row is not None
    return row


def _clean_note(note: str | None) -> str | None:
    if note is None or not note.strip():
        return None
    if len(note) > 4000:
        raise Problem.unexpected_value("note", "a note has at most 4000 characters")
    return note.strip()


async def _household(
    conn: Connection, access: Access, verb: str, xml_form_id: str, instance_id: str
) -> tuple[Scope, int, SubmissionRow]:
    """The reader's scope, the form's id and the household (404 outside the scope)."""
    scope = access.scope(verb)
    form = await authorized_form(conn, access, xml_form_id, verb)
    row = await submission_queries.get_submission(conn, scope, form.id, instance_id)
    if row is None:
        raise Problem.not_found("submission")
    return scope, form.id, row


async def list_comments(res: Resources, access: Access, xml_form_id: str, instance_id: str) -> list[CommentOut]:
    async with res.pool.acquire() as conn:
        scope, _, row = await _household(conn, access, "submission.read", xml_form_id, instance_id)
        return [CommentOut.from_row(c) for c in await queries.list_comments(conn, scope, row.id)]


async def add_comment(res: Resources, access: Access, xml_form_id: str, instance_id: str, body: str) -> CommentOut:
    text = body.strip()
    if not 1 <= len(text) <= 10000:
        raise Problem.unexpected_value("body", "a comment has 1 to 10000 characters")
    actor_id = access.actor.user_id
    if actor_id is None:
        raise Problem.insufficient_rights()  # app users and the system do not comment
    async with res.pool.acquire() as conn, conn.transaction():
        _, form_id, row = await _household(conn, access, "submission.read", xml_form_id, instance_id)
        comment = await queries.insert_comment(conn, row.id, actor_id, text)
        await record_change(conn, form_id=form_id, submission_id=row.id, kind="comment", actor_user_id=actor_id)
        await record_audit(
            conn,
            "comment.create",
            actor_user_id=actor_id,
            project_id=access.project_id,
            form_id=form_id,
            details={"instanceId": instance_id},
        )
    return CommentOut.from_row(comment)


async def diffs(res: Resources, access: Access, xml_form_id: str, instance_id: str) -> dict[str, list[DiffOut]]:
    """Central's …/diffs: for every version after the first, the answers that changed from the one before."""
    async with res.pool.acquire() as conn:
        scope, _, row = await _household(conn, access, "submission.read", xml_form_id, instance_id)
        versions = await queries.version_answers(conn, scope, row.id)
    result: dict[str, list[DiffOut]] = {}
    for before, after in itertools.pairwise(versions):
        result[after.instance_id] = list(_diff(before.answers or {}, after.answers or {}, []))
    return result


def _diff(old: Any, new: Any, path: list[str | int]) -> list[DiffOut]:
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[DiffOut] = []
        for key in list(old) + [k for k in new if k not in old]:
            if key == "meta":
                continue  # instanceID and deprecatedID always differ between versions
            changes += _diff(old.get(key), new.get(key), [*path, key])
        return changes
    if isinstance(old, list) and isinstance(new, list) and all(isinstance(x, dict) for x in old + new):
        changes = []
        for index in range(max(len(old), len(new))):
            changes += _diff(
                old[index] if index < len(old) else None, new[index] if index < len(new) else None, [*path, index]
            )
        return changes
    return [] if old == new else [DiffOut(new=new, old=old, path=path)]


class _Cursor(msgspec.Struct, array_like=True, frozen=True):
    """Where an oldest-first page ended."""

    created_at: datetime
    id: int


class _RiskCursor(msgspec.Struct, array_like=True, frozen=True, tag="risk"):
    """Where a riskiest-first page ended (the score is null once the page reached unchecked households). Tagged, so
    that a cursor of one order is refused under the other instead of being misread."""

    risk_score: int | None
    id: int


def _encode(cursor: _Cursor | _RiskCursor) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).decode().rstrip("=")


def _encode_cursor(row: queries.QueueRow, sort: str) -> str:
    return _encode(_RiskCursor(row.risk_score, row.id) if sort == "risk" else _Cursor(row.created_at, row.id))


def _decode_cursor(cursor: str, kind: type[_CursorT]) -> _CursorT:
    try:
        return msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), type=kind)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise Problem.unexpected_value("cursor", "it is not a cursor this server gave out for this order") from None


async def _page(
    conn: Connection, scope: Scope, form_id: int, filters: QueueFilter, answers: Any, cursor: str | None, limit: int
) -> list[queries.QueueRow]:
    """One page of the queue in the filter's order, after `cursor` (an encoded position from the page before)."""
    if filters.sort == "risk":
        risk_after = _decode_cursor(cursor, _RiskCursor) if cursor else None
        return await queries.queue_page_by_risk(
            conn,
            scope,
            form_id,
            filters,
            answers,
            after=(risk_after.risk_score, risk_after.id) if risk_after else None,
            limit=limit,
        )
    after = _decode_cursor(cursor, _Cursor) if cursor else None
    return await queries.queue_page(
        conn, scope, form_id, filters, answers, after=(after.created_at, after.id) if after else None, limit=limit
    )


def _answers_filter(queue: QueueFilter) -> Any:
    """`{"/data/g_loc/commune": "19750"}` → the jsonb the current version's answers must contain."""
    if not queue.answers:
        return None
    contained: dict[str, Any] = {}
    for path, value in queue.answers.items():
        keys = path.strip("/").split("/")[1:]
        if not keys or not all(keys):
            raise Problem.unexpected_value("answers", f"{path!r} is not a field path like /data/group/field")
        node = contained
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return contained


def _check_queue(queue: QueueFilter) -> None:
    allowed = {"received", "hasIssues", "edited", "approved", "rejected"}
    if queue.states is not None and not set(queue.states) <= allowed:
        raise Problem.unexpected_value("state", f"states are {', '.join(sorted(allowed))}")
    if queue.classification is not None and queue.classification not in CLASSES:
        raise Problem.unexpected_value("classification", f"classifications are {', '.join(CLASSES)}")
    if queue.stages is not None and not set(queue.stages) <= set(STAGES):
        raise Problem.unexpected_value("stage", f"stages are {', '.join(STAGES)}")
    if queue.sort not in QUEUE_SORTS:
        raise Problem.unexpected_value("sort", f"the queue is sorted by {' or '.join(QUEUE_SORTS)}")


async def queue(res: Resources, access: Access, filters: QueueFilter, *, cursor: str | None, limit: int) -> QueueOut:
    """A page of households to review in the filter's order (oldest first, or riskiest first), and how many there are
    in each state under the filter. An area outside the caller's scope is refused (403); inside it, the scope applies
    as to every read."""
    if not 1 <= limit <= MAX_QUEUE_PAGE:
        raise Problem.unexpected_value("limit", f"limit is 1 to {MAX_QUEUE_PAGE}")
    _check_queue(filters)
    scope = access.scope("submission.list")
    if filters.area is not None and scope.areas is not None and filters.area not in scope.areas:
        await _area_within_scope(res, scope, filters.area)
    answers = _answers_filter(filters)
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, filters.xml_form_id, "submission.list")
        rows = await _page(conn, scope, form.id, filters, answers, cursor, limit + 1)
        counts = await queries.queue_counts(conn, scope, form.id, filters, answers)
    more = len(rows) > limit
    rows = rows[:limit]
    return QueueOut(
        items=[_item(row) for row in rows],
        counts=counts,
        next_cursor=_encode_cursor(rows[-1], filters.sort) if more else None,
    )


def _item(row: queries.QueueRow) -> QueueItemOut:
    return QueueItemOut(
        instance_id=row.instance_id,
        instance_name=row.instance_name,
        review_state=row.review_state,  # type: ignore[arg-type]  # the column's check constraint
        stage=row.stage,  # type: ignore[arg-type]  # the column's check constraint
        submitter_id=row.submitter_id,
        submitter_name=row.submitter_name,
        district_code=row.district_code,
        commune_code=row.commune_code,
        village_code=row.village_code,
        attachments_expected=row.attachments_expected,
        attachments_present=row.attachments_present,
        latitude=row.latitude,
        longitude=row.longitude,
        accuracy=row.accuracy,
        created_at=row.created_at,
        reviewed_at=row.reviewed_at,
        risk_score=row.risk_score,
        checks=CheckCountsOut(info=row.evidence_info, warn=row.evidence_warn, risk=row.evidence_risk),
        classification=row.classification,
        provisional_classification=row.provisional_classification,
        classification_mismatch=row.classification_mismatch,
        classification_detail=row.classification_detail,
    )


async def _area_within_scope(res: Resources, scope: Scope, area: str) -> None:
    """An area below one of the scope's areas is within it (a commune of a district); anything else is 403."""
    async with res.pool.acquire() as conn:
        if not await areas.within_scope(conn, scope, area):
            raise Problem.insufficient_rights()


async def bulk_decide(
    res: Resources,
    access: Access,
    filters: QueueFilter,
    *,
    instance_ids: list[str] | None,
    state: str,
    reason: str | None,
    note: str | None,
    limit: int,
) -> tuple[uuid.UUID, int]:
    if not 1 <= limit <= MAX_BULK:
        raise Problem.unexpected_value("limit", f"a bulk action covers 1 to {MAX_BULK} households")
    _check_queue(filters)
    scope = access.scope("submission.review")
    if filters.area is not None and scope.areas is not None and filters.area not in scope.areas:
        await _area_within_scope(res, scope, filters.area)
    note = _clean_note(note)
    answers = _answers_filter(filters)
    batch = uuid.uuid4()
    async with res.pool.acquire() as conn, conn.transaction():
        form = await authorized_form(conn, access, filters.xml_form_id, "submission.review")
        decision = await _check_decision(conn, access, state, reason)
        changed = await queries.bulk_decide(
            conn,
            scope,
            form.id,
            filters,
            answers,
            instance_ids=instance_ids,
            limit=limit,
            actor_user_id=access.actor.user_id,
            to_state=decision,
            reason=reason,
            note=note,
            batch_id=batch,
        )
        await record_audit(
            conn,
            "submission.update.bulk",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            form_id=form.id,
            details={"batchId": str(batch), "reviewState": decision, "reason": reason, "households": changed},
        )
    return batch, changed


async def undo_batch(res: Resources, access: Access, batch_id: str) -> tuple[int, int]:
    scope = access.scope("submission.review")
    try:
        batch = uuid.UUID(batch_id)
    except ValueError:
        raise Problem.not_found("review batch") from None
    async with res.pool.acquire() as conn, conn.transaction():
        restored, kept = await queries.undo_batch(conn, scope, access.project_id, batch, access.actor.user_id)
        if restored == 0 and kept == 0:
            raise Problem.not_found("review batch")
        await record_audit(
            conn,
            "submission.update.bulk.undo",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            details={"batchId": batch_id, "restored": restored, "kept": kept},
        )
    return restored, kept
