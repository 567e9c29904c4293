"""All SQL of exit plans. Statements that touch households take the reader's Scope as $1 and apply IN_SCOPE
(tests/test_scope.py checks it); a plan's actions and visits are reached only through a plan found that way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from service.db.rows import many, one, optional
from service.submissions.queries import IN_SCOPE

from .models import ActionRow, GapRow, PlanRow, VisitRow

if TYPE_CHECKING:
    from datetime import date

    from service.auth.access import Scope
    from service.db.pool import Connection

    from .models import ActionIn, Gap, PlanIn, VisitIn

__all__ = [
    "actions_of",
    "gaps",
    "insert_action",
    "insert_visit",
    "plan_of",
    "update_action",
    "upsert_plan",
    "visits_of",
]

# The household's class as the review knows it: the commune's final classification once recognised, else the
# server's classification of its answers (service/classification), else, for forms the rules do not apply to, the
# phone's provisional result (the example form's g_result/classification).
_CLASS = "coalesce(s.final_classification, s.classification, cv.answers #>> '{g_result,classification}')"
# A household without working capacity (the example form's household characteristics).
_NO_WORKING_CAPACITY = "coalesce(cv.answers #> '{g_hh,hh_flags}' ? 'no_labour', false)"
_PLAN = """p.id, p.submission_id, p.owner_name, p.owner_user_id, p.agency, p.target_exit_year, p.pathway, p.summary,
    p.created_at, p.updated_at"""
_ACTION_COLUMNS = (
    "support_type",
    "programme_project",
    "description",
    "amount_vnd",
    "funding_source",
    "responsible",
    "due_date",
    "done_on",
)


async def plan_of(conn: Connection, scope: Scope, submission_id: int) -> PlanRow | None:
    row = await conn.fetchrow(
        f"""select {_PLAN} from exit_plans p join submissions s on s.id = p.submission_id
        where p.submission_id = $2 and {IN_SCOPE}""",
        scope.area_filter,
        submission_id,
    )
    return optional(row, PlanRow)


async def upsert_plan(
    conn: Connection, scope: Scope, submission_id: int, plan: PlanIn, actor_user_id: int | None
) -> PlanRow:
    row = await conn.fetchrow(
        f"""insert into exit_plans as p (submission_id, owner_name, owner_user_id, agency, target_exit_year, pathway,
                summary, created_by)
        select s.id, $3, $4, $5, $6, $7, $8, $9 from submissions s where s.id = $2 and {IN_SCOPE}
        on conflict (submission_id) do update set owner_name = excluded.owner_name,
            owner_user_id = excluded.owner_user_id, agency = excluded.agency,
            target_exit_year = excluded.target_exit_year, pathway = excluded.pathway, summary = excluded.summary,
            updated_at = now()
        returning {_PLAN}""",
        scope.area_filter,
        submission_id,
        plan.owner_name,
        plan.owner_user_id,
        plan.agency,
        plan.target_exit_year,
        plan.pathway,
        plan.summary,
        actor_user_id,
    )
    return one(row, PlanRow)


async def actions_of(conn: Connection, plan_id: int) -> list[ActionRow]:
    rows = await conn.fetch(
        f"select id, {', '.join(_ACTION_COLUMNS)}, updated_at from exit_plan_actions where plan_id = $1 order by id",
        plan_id,
    )
    return many(rows, ActionRow)


async def visits_of(conn: Connection, plan_id: int) -> list[VisitRow]:
    rows = await conn.fetch(
        """select v.id, v.visit_date, v.visited_by, coalesce(nullif(u.display_name, ''), u.email) as visited_by_name,
               v.progress, v.note, v.created_at
        from exit_plan_visits v left join users u on u.id = v.visited_by
        where v.plan_id = $1 order by v.visit_date, v.id""",
        plan_id,
    )
    return many(rows, VisitRow)


async def insert_action(conn: Connection, plan_id: int, action: ActionIn) -> int:
    action_id: int = await conn.fetchval(
        f"""insert into exit_plan_actions (plan_id, {", ".join(_ACTION_COLUMNS)})
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id""",
        plan_id,
        *(getattr(action, column) for column in _ACTION_COLUMNS),
    )
    await _touch(conn, plan_id)
    return action_id


async def update_action(conn: Connection, plan_id: int, action_id: int, changes: dict[str, Any]) -> bool:
    """Set the given columns (names from ActionPatch, checked against the action's columns); False: no such action
    in this plan."""
    names = [name for name in changes if name in _ACTION_COLUMNS]
    assignments = ", ".join(f"{name} = ${number}" for number, name in enumerate(names, start=3))
    status = await conn.execute(
        f"""update exit_plan_actions set {assignments + ", " if assignments else ""}updated_at = now()
        where plan_id = $1 and id = $2""",
        plan_id,
        action_id,
        *(changes[name] for name in names),
    )
    if status.endswith(" 0"):
        return False
    await _touch(conn, plan_id)
    return True


async def insert_visit(conn: Connection, plan_id: int, visit: VisitIn, actor_user_id: int | None) -> None:
    await conn.execute(
        "insert into exit_plan_visits (plan_id, visit_date, visited_by, progress, note) values ($1, $2, $3, $4, $5)",
        plan_id,
        visit.visit_date,
        actor_user_id,
        visit.progress,
        visit.note,
    )
    await _touch(conn, plan_id)


async def _touch(conn: Connection, plan_id: int) -> None:
    await conn.execute("update exit_plans set updated_at = now() where id = $1", plan_id)


_GAP_COLUMNS = f"""s.id as submission_id, s.instance_id, s.instance_name, s.district_code, s.commune_code,
    s.village_code, {_CLASS} as classification, s.created_at"""
_GAP_HOUSEHOLDS = f"""s.form_id = $2 and s.deleted_at is null and {IN_SCOPE}
    and ($3::text is null or s.area_codes @> array[$3::text])"""


def _household_gap(joins: str, condition: str) -> str:
    """Households lacking something, in id order. $1 scope, $2 form, $3 an area code, $4 the last id seen, $5 limit."""
    return f"""select {_GAP_COLUMNS}, null::bigint as action_id, null as action, null as responsible,
            null::date as due_date
        from submissions s join submission_versions cv on cv.id = s.current_version_id {joins}
        where {_GAP_HOUSEHOLDS} and {condition} and ($4::bigint is null or s.id > $4::bigint)
        order by s.id limit $5"""


_HOUSEHOLD_GAPS: dict[str, str] = {
    "no_plan": _household_gap(
        "",
        f"""{_CLASS} in ('poor', 'near_poor')
            and not exists (select 1 from exit_plans p where p.submission_id = s.id)""",
    ),
    "no_owner": _household_gap(
        "join exit_plans p on p.submission_id = s.id",
        "p.owner_name is null and p.owner_user_id is null and p.agency is null",
    ),
    "no_agency": _household_gap(
        "left join exit_plans p on p.submission_id = s.id",
        f"{_CLASS} in ('poor', 'near_poor') and {_NO_WORKING_CAPACITY} and p.agency is null",
    ),
}
# Overdue actions, most overdue first. $1 scope, $2 form, $3 an area code, $4 today, $5/$6 the last (due date,
# action id) seen, $7 limit.
_OVERDUE = f"""select {_GAP_COLUMNS}, a.id as action_id, a.description as action, a.responsible, a.due_date
    from exit_plan_actions a
    join exit_plans p on p.id = a.plan_id
    join submissions s on s.id = p.submission_id
    join submission_versions cv on cv.id = s.current_version_id
    where {_GAP_HOUSEHOLDS} and a.done_on is null and a.due_date < $4::date
      and ($5::date is null or (a.due_date, a.id) > ($5::date, $6::bigint))
    order by a.due_date, a.id limit $7"""


async def gaps(
    conn: Connection,
    scope: Scope,
    form_id: int,
    gap: Gap,
    *,
    area: str | None,
    today: date,
    after: tuple[date | None, int] | None,
    limit: int,
) -> list[GapRow]:
    """One page of a gap list: households in id order, overdue actions most overdue first."""
    after_date, after_id = after if after else (None, None)
    if gap == "overdue":
        rows = await conn.fetch(_OVERDUE, scope.area_filter, form_id, area, today, after_date, after_id, limit)
    else:
        rows = await conn.fetch(_HOUSEHOLD_GAPS[gap], scope.area_filter, form_id, area, after_id, limit)
    return many(rows, GapRow)
