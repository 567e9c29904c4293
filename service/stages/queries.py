"""All SQL of the review stages. Every statement that touches households takes the reader's Scope as $1 and applies
IN_SCOPE (tests/test_scope.py checks it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.db.rows import many
from service.submissions.queries import IN_SCOPE

from .models import StagedHousehold, StageEventRow

if TYPE_CHECKING:
    from uuid import UUID

    from service.auth.access import Scope
    from service.db.pool import Connection

    from .models import StageStep

__all__ = ["history", "lock_households", "record_steps"]


async def lock_households(
    conn: Connection, scope: Scope, form_id: int, instance_ids: list[str]
) -> list[StagedHousehold]:
    """The households in the reader's scope, locked for a step (in id order, so concurrent steps never deadlock),
    with the dates their latest meeting and posting carry."""
    rows = await conn.fetch(
        f"""select s.id, s.instance_id, s.current_version_id, s.stage, s.review_state, s.created_at,
               (select st.meeting_date from submission_stages st
                where st.submission_id = s.id and st.meeting_date is not null
                order by st.id desc limit 1) as last_meeting_date,
               (select st.posted_until from submission_stages st
                where st.submission_id = s.id and st.posted_until is not null
                order by st.id desc limit 1) as last_posted_until
        from submissions s
        where s.form_id = $2 and s.instance_id = any($3::text[]) and s.deleted_at is null and {IN_SCOPE}
        order by s.id
        for update of s""",
        scope.area_filter,
        form_id,
        instance_ids,
    )
    return many(rows, StagedHousehold)


async def record_steps(
    conn: Connection,
    scope: Scope,
    form_id: int,
    steps: list[tuple[StagedHousehold, StageStep]],
    *,
    actor_user_id: int | None,
    actor_app_user_id: int | None = None,
    batch_id: UUID | None = None,
) -> None:
    """Write the steps in one statement: the stage rows, the households' new stage (and, on recognition, their final
    classification), and one change per household for the feed and the central copy (changes.py)."""
    columns: list[list[object]] = [[] for _ in range(14)]
    for household, step in steps:
        values = (
            household.id,
            household.current_version_id,
            household.stage,
            step.to_stage,
            step.meeting_date,
            step.agreement_percent,
            step.attendees,
            step.posted_from,
            step.posted_until,
            step.complaints,
            step.decision_number,
            step.decision_date,
            step.final_classification,
            step.note,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    await conn.execute(
        f"""with input as (
            select * from unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::date[], $7::numeric[],
                                 $8::int[], $9::date[], $10::date[], $11::int[], $12::text[], $13::date[], $14::text[],
                                 $15::text[])
                as t(submission_id, version_id, from_stage, to_stage, meeting_date, agreement_percent, attendees,
                     posted_from, posted_until, complaints, decision_number, decision_date, final_classification,
                     note)
        ), stepped as (
            insert into submission_stages (submission_id, version_id, actor_user_id, actor_app_user_id, batch_id,
                from_stage, to_stage, meeting_date, agreement_percent, attendees, posted_from, posted_until,
                complaints, decision_number, decision_date, final_classification, note)
            select submission_id, version_id, $16, $17, $18, from_stage, to_stage, meeting_date, agreement_percent,
                attendees, posted_from, posted_until, complaints, decision_number, decision_date,
                final_classification, note
            from input
        ), changed as (
            insert into submission_changes (form_id, submission_id, kind, version_id, actor_user_id, details)
            select $19, submission_id, 'stage', version_id, $16,
                jsonb_build_object('stage', to_stage, 'from', from_stage)
            from input
        )
        update submissions s set
            stage = i.to_stage,
            stage_changed_at = now(),
            updated_at = now(),
            -- Recognition fixes the final classification; a household sent back loses it until it is recognised again.
            final_classification = case
                when i.to_stage = 'recognised' then i.final_classification
                when i.to_stage = 'surveyed' or i.to_stage = 're_review' then null
                else s.final_classification end
        from input i
        where s.id = i.submission_id and {IN_SCOPE}""",
        scope.area_filter,
        *columns,
        actor_user_id,
        actor_app_user_id,
        batch_id,
        form_id,
    )


async def history(conn: Connection, scope: Scope, submission_id: int) -> list[StageEventRow]:
    rows = await conn.fetch(
        f"""select st.from_stage, st.to_stage,
               coalesce(st.actor_user_id, st.actor_app_user_id) as actor_id,
               coalesce(nullif(u.display_name, ''), u.email, a.display_name) as actor_name,
               st.batch_id::text as batch_id, st.meeting_date, st.agreement_percent::float8 as agreement_percent,
               st.attendees, st.posted_from, st.posted_until, st.complaints, st.decision_number, st.decision_date,
               st.final_classification, st.note, st.created_at
        from submissions s
        join submission_stages st on st.submission_id = s.id
        left join users u on u.id = st.actor_user_id
        left join app_users a on a.id = st.actor_app_user_id
        where s.id = $2 and {IN_SCOPE}
        order by st.id""",
        scope.area_filter,
        submission_id,
    )
    return many(rows, StageEventRow)
