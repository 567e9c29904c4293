"""All SQL of the review capability. Every statement that touches households takes the reader's Scope as $1 and
applies IN_SCOPE (tests/test_scope.py checks it), so a reviewer can only ever decide inside their areas."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from service.classification import Classification
from service.db.rows import many, one, optional
from service.submissions.queries import IN_SCOPE

from .models import CommentRow, ReasonRow

if TYPE_CHECKING:
    from uuid import UUID

    from service.auth.access import Scope
    from service.db.pool import Connection

    from .models import QueueFilter

__all__ = [
    "Household",
    "QueueRow",
    "VersionAnswers",
    "bulk_decide",
    "insert_comment",
    "list_comments",
    "list_reasons",
    "lock_household",
    "queue_counts",
    "queue_page",
    "queue_page_by_risk",
    "record_decision",
    "undo_batch",
    "version_answers",
]


class Household(msgspec.Struct, frozen=True):
    id: int
    form_id: int
    current_version_id: int
    review_state: str | None


class VersionAnswers(msgspec.Struct, frozen=True):
    instance_id: str
    answers: dict[str, Any] | None


class QueueRow(msgspec.Struct, frozen=True):
    id: int
    instance_id: str
    instance_name: str | None
    review_state: str | None
    submitter_id: int | None
    submitter_name: str | None
    district_code: str | None
    commune_code: str | None
    village_code: str | None
    attachments_expected: int
    attachments_present: int
    latitude: float | None
    longitude: float | None
    accuracy: float | None
    created_at: datetime
    reviewed_at: datetime | None
    stage: str
    risk_score: int | None
    evidence_info: int
    evidence_warn: int
    evidence_risk: int
    classification: str | None
    provisional_classification: str | None
    classification_mismatch: bool | None
    classification_detail: Classification | None


class _Undone(msgspec.Struct, frozen=True):
    restored: int
    kept: int


class _StateCount(msgspec.Struct, frozen=True):
    state: str
    households: int


async def lock_household(conn: Connection, scope: Scope, form_id: int, instance_id: str) -> Household | None:
    """The household in the reader's scope, locked for a decision (None: absent, or out of scope)."""
    row = await conn.fetchrow(
        f"""select s.id, s.form_id, s.current_version_id, s.review_state from submissions s
        where s.form_id = $2 and s.instance_id = $3 and s.deleted_at is null and {IN_SCOPE}
        for update""",
        scope.area_filter,
        form_id,
        instance_id,
    )
    return optional(row, Household)


async def record_decision(
    conn: Connection,
    household: Household,
    *,
    actor_user_id: int | None,
    to_state: str,
    reason: str | None,
    note: str | None,
) -> None:
    await conn.execute(
        """with decided as (
            insert into submission_reviews
                (submission_id, version_id, actor_user_id, from_state, to_state, reason_code, note)
            values ($1, $2, $3, $4, $5, $6, $7)
        )
        update submissions set review_state = $5, reviewed_at = now() where id = $1""",
        household.id,
        household.current_version_id,
        actor_user_id,
        household.review_state,
        to_state,
        reason,
        note,
    )


async def list_reasons(conn: Connection, project_id: int) -> list[ReasonRow]:
    """The project's reasons: its own, and the defaults it has not replaced (by code)."""
    rows = await conn.fetch(
        """select distinct on (code) code, label, label_en, applies_to from review_reasons
        where (project_id = $1 or project_id is null) and active
        order by code, project_id nulls last""",
        project_id,
    )
    return many(rows, ReasonRow)


async def list_comments(conn: Connection, scope: Scope, submission_id: int) -> list[CommentRow]:
    """Newest first, as Central lists them."""
    rows = await conn.fetch(
        f"""select c.body, c.actor_id, coalesce(nullif(u.display_name, ''), u.email) as actor_name, c.created_at
        from submission_comments c
        join submissions s on s.id = c.submission_id
        join users u on u.id = c.actor_id
        where c.submission_id = $2 and {IN_SCOPE}
        order by c.id desc""",
        scope.area_filter,
        submission_id,
    )
    return many(rows, CommentRow)


async def insert_comment(conn: Connection, submission_id: int, actor_id: int, body: str) -> CommentRow:
    row = await conn.fetchrow(
        """with added as (
            insert into submission_comments (submission_id, actor_id, body) values ($1, $2, $3)
            returning body, actor_id, created_at
        )
        select a.body, a.actor_id, coalesce(nullif(u.display_name, ''), u.email) as actor_name, a.created_at
        from added a join users u on u.id = a.actor_id""",
        submission_id,
        actor_id,
        body,
    )
    return one(row, CommentRow)


async def version_answers(conn: Connection, scope: Scope, submission_id: int) -> list[VersionAnswers]:
    """Every version's answers, oldest first."""
    rows = await conn.fetch(
        f"""select v.instance_id, v.answers from submission_versions v join submissions s on s.id = v.submission_id
        where v.submission_id = $2 and {IN_SCOPE}
        order by v.id""",
        scope.area_filter,
        submission_id,
    )
    return many(rows, VersionAnswers)


# The queue's filter: $1 scope, $2 form, $3 states ("received" = none yet), $4 an area code, $5 submitter,
# $6/$7 received between, $8 answers the current version must contain (jsonb), $9 legal stages, $10 the server's
# classification, $11 whether the phone's provisional classification disagrees with it.
_QUEUE_WHERE = f"""s.form_id = $2 and s.deleted_at is null and {IN_SCOPE}
    and ($3::text[] is null or s.review_state = any($3::text[])
         or (s.review_state is null and 'received' = any($3::text[])))
    and ($4::text is null or s.area_codes @> array[$4::text])
    and ($5::bigint is null or coalesce(s.submitter_user_id, s.submitter_app_user_id) = $5::bigint)
    and ($6::timestamptz is null or s.created_at >= $6::timestamptz)
    and ($7::timestamptz is null or s.created_at < $7::timestamptz)
    and ($8::jsonb is null or exists (select 1 from submission_versions cv
                                      where cv.id = s.current_version_id and cv.answers @> $8::jsonb))
    and ($9::text[] is null or s.stage = any($9::text[]))
    and ($10::text is null or s.classification = $10::text)
    and ($11::boolean is null or s.classification_mismatch = $11::boolean)"""

# The queue's orders, each matching an index: (form_id, created_at, id), and migration 0011's
# submissions_form_risk_idx (form_id, risk_score desc nulls last, id desc), whose null order must be spelt out for
# the index to provide it.
_OLDEST_FIRST = "s.created_at, s.id"
_RISKIEST_FIRST = "s.risk_score desc nulls last, s.id desc"
_ORDER_BY = {"oldest": _OLDEST_FIRST, "risk": _RISKIEST_FIRST}

_QUEUE_COLUMNS = """s.id, s.instance_id, s.instance_name, s.review_state,
    coalesce(s.submitter_user_id, s.submitter_app_user_id) as submitter_id,
    coalesce(nullif(u.display_name, ''), u.email, a.display_name) as submitter_name,
    s.district_code, s.commune_code, s.village_code, s.attachments_expected, s.attachments_present,
    s.latitude, s.longitude, s.accuracy, s.created_at, s.reviewed_at,
    s.stage, s.risk_score, s.evidence_info, s.evidence_warn, s.evidence_risk,
    s.classification, s.provisional_classification, s.classification_mismatch, s.classification_detail"""


def _filter_args(scope: Scope, form_id: int, queue: QueueFilter, answers: Any) -> list[Any]:
    return [
        scope.area_filter,
        form_id,
        queue.states,
        queue.area,
        queue.submitter_id,
        queue.since,
        queue.until,
        answers,
        queue.stages,
        queue.classification,
        queue.mismatch,
    ]


async def queue_page(
    conn: Connection,
    scope: Scope,
    form_id: int,
    queue: QueueFilter,
    answers: Any,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[QueueRow]:
    """Oldest first (the longest-waiting household is decided first); `after` is the last row of the page before."""
    created_at, last_id = after if after else (None, None)
    rows = await conn.fetch(
        f"""select {_QUEUE_COLUMNS}
        from submissions s
        left join users u on u.id = s.submitter_user_id
        left join app_users a on a.id = s.submitter_app_user_id
        where {_QUEUE_WHERE}
          and ($12::timestamptz is null or (s.created_at, s.id) > ($12::timestamptz, $13::bigint))
        order by {_OLDEST_FIRST} limit $14""",
        *_filter_args(scope, form_id, queue, answers),
        created_at,
        last_id,
        limit,
    )
    return many(rows, QueueRow)


async def queue_page_by_risk(
    conn: Connection,
    scope: Scope,
    form_id: int,
    queue: QueueFilter,
    answers: Any,
    *,
    after: tuple[int | None, int] | None,
    limit: int,
) -> list[QueueRow]:
    """Riskiest first, households not checked yet (no score) last; ties newest first (by id). `after` is the
    (risk_score, id) of the last row of the page before.

    The scored households and the unscored ones are two ranges of the risk index read one after the other (the
    second only when the first does not fill the page): a row comparison cannot reach past the nulls by itself,
    and an OR of the two would not be an index condition."""
    last_score, last_id = after if after else (None, None)
    rows = await conn.fetch(
        f"""with page as (
            (select s.id from submissions s
             where {_QUEUE_WHERE} and s.risk_score is not null
               and ($12::bigint is null
                    or ($13::int is not null and (s.risk_score, s.id) < ($13::int, $12::bigint)))
             order by {_RISKIEST_FIRST} limit $14)
            union all
            (select s.id from submissions s
             where {_QUEUE_WHERE} and s.risk_score is null
               and ($12::bigint is null or $13::int is not null or s.id < $12::bigint)
             order by s.id desc limit $14)
            limit $14
        )
        select {_QUEUE_COLUMNS}
        from page p
        join submissions s on s.id = p.id
        left join users u on u.id = s.submitter_user_id
        left join app_users a on a.id = s.submitter_app_user_id
        order by {_RISKIEST_FIRST}""",
        *_filter_args(scope, form_id, queue, answers),
        last_id,
        last_score,
        limit,
    )
    return many(rows, QueueRow)


async def queue_counts(
    conn: Connection, scope: Scope, form_id: int, queue: QueueFilter, answers: Any
) -> dict[str, int]:
    """Households per state under the filter, whatever states it asks for."""
    rows = await conn.fetch(
        f"""select coalesce(s.review_state, 'received') as state, count(*) as households from submissions s
        where {_QUEUE_WHERE} group by 1""",
        *_filter_args(scope, form_id, msgspec.structs.replace(queue, states=None), answers),
    )
    return {row.state: row.households for row in many(rows, _StateCount)}


async def bulk_decide(
    conn: Connection,
    scope: Scope,
    form_id: int,
    queue: QueueFilter,
    answers: Any,
    *,
    instance_ids: list[str] | None,
    limit: int,
    actor_user_id: int | None,
    to_state: str,
    reason: str | None,
    note: str | None,
    batch_id: UUID,
) -> int:
    """Decide on every selected household at once (the first `limit` in the queue's order), one review row each, all
    under one batch id; households already in that state are left alone. Returns how many changed."""
    order_by = _ORDER_BY[queue.sort]
    changed: int = await conn.fetchval(
        f"""with target as (
            select s.id, s.form_id, s.current_version_id, s.review_state from submissions s
            where {_QUEUE_WHERE} and ($12::text[] is null or s.instance_id = any($12::text[]))
              and s.review_state is distinct from $15::text
            order by {order_by} limit $13
            for update of s
        ), decided as (
            insert into submission_reviews
                (submission_id, version_id, actor_user_id, from_state, to_state, reason_code, note, batch_id)
            select id, current_version_id, $14, review_state, $15, $16, $17, $18 from target
        ), updated as (
            update submissions s set review_state = $15, reviewed_at = now(), updated_at = now()
            from target t where s.id = t.id
            returning s.id, s.form_id, s.current_version_id
        ), recorded as (
            insert into submission_changes (form_id, submission_id, kind, version_id, actor_user_id, details)
            select form_id, id, 'review', current_version_id, $14,
                   jsonb_build_object('reviewState', $15::text, 'batchId', $18::text)
            from updated
            returning 1
        )
        select count(*) from recorded""",
        *_filter_args(scope, form_id, queue, answers),
        instance_ids,
        limit,
        actor_user_id,
        to_state,
        reason,
        note,
        batch_id,
    )
    return changed


async def undo_batch(
    conn: Connection, scope: Scope, project_id: int, batch_id: UUID, actor_user_id: int | None
) -> tuple[int, int]:
    """Put every household of a batch back in the state it had, unless decided on again since (kept).
    Returns (restored, kept)."""
    row = await conn.fetchrow(
        f"""with batch as (
            select r.id, r.submission_id, r.from_state, r.to_state,
                   s.review_state is not distinct from r.to_state
                   and not exists (select 1 from submission_reviews later
                                   where later.submission_id = r.submission_id and later.id > r.id) as current
            from submission_reviews r
            join submissions s on s.id = r.submission_id
            join forms f on f.id = s.form_id
            where r.batch_id = $2 and r.undone_at is null and f.project_id = $3 and {IN_SCOPE}
            for update of s
        ), restored as (
            update submissions s set review_state = b.from_state, reviewed_at = now(), updated_at = now()
            from batch b where b.current and s.id = b.submission_id
            returning s.id, s.form_id, s.current_version_id, b.to_state as undone_state, s.review_state
        ), logged as (
            insert into submission_reviews
                (submission_id, version_id, actor_user_id, from_state, to_state, reason_code, note)
            select id, current_version_id, $4, undone_state, review_state, 'undo', 'undo of batch ' || $2::text
            from restored
        ), marked as (
            update submission_reviews r set undone_at = now() from batch b where r.id = b.id and b.current
        ), recorded as (
            insert into submission_changes (form_id, submission_id, kind, version_id, actor_user_id, details)
            select form_id, id, 'review', current_version_id, $4,
                   jsonb_build_object('reviewState', review_state, 'undoneBatchId', $2::text)
            from restored
            returning 1
        )
        select (select count(*) from recorded) as restored,
               (select count(*) from batch where not current) as kept""",
        scope.area_filter,
        batch_id,
        project_id,
        actor_user_id,
    )
    undone = one(row, _Undone)
    return undone.restored, undone.kept
