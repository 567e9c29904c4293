"""Exit plans: one per household, with actions and follow-up visits, and the lists that show what is missing.

    read a plan                     submission.read, the household in the reader's areas (404 outside, or no plan)
    set who answers for it          plan.manage (supervisors and managers, in their areas); creates the plan the
                                    first time, replaces its header after
    add or change an action         plan.manage; an action names a support type and what is done; a plan is
                                    concrete when someone answers for it and every action has a date and a person
                                    or agency who carries it out (the `gaps` of the plan say what is missing)
    record a follow-up visit        plan.manage; the visitor is the caller
    gap lists                       submission.list: poor or near-poor households without a plan, plans without an
                                    owner, overdue actions (most overdue first), households without working capacity
                                    whose plan names no sponsoring agency

Every write is audited (plan.update, plan.action, plan.visit).
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import TYPE_CHECKING

import msgspec

from service.audits import record_audit
from service.errors import Problem
from service.forms.access import authorized_form
from service.submissions import queries as submission_queries

from . import queries
from .models import GAPS, ActionOut, GapItemOut, GapsOut, PlanOut, VisitOut

if TYPE_CHECKING:
    from service.auth.access import Access, Scope
    from service.db.pool import Connection
    from service.resources import Resources

    from .models import ActionIn, ActionPatch, ActionRow, Gap, PlanIn, PlanRow, VisitIn

__all__ = ["MAX_GAP_PAGE", "add_action", "add_visit", "change_action", "gaps", "plan_of", "set_plan"]

MAX_GAP_PAGE = 500


async def _household(
    conn: Connection, access: Access, verb: str, xml_form_id: str, instance_id: str
) -> tuple[Scope, int]:
    scope = access.scope(verb)
    form = await authorized_form(conn, access, xml_form_id, verb)
    row = await submission_queries.get_submission(conn, scope, form.id, instance_id)
    if row is None:
        raise Problem.not_found("submission")
    return scope, row.id


async def _shown(conn: Connection, instance_id: str, plan: PlanRow, today: date) -> PlanOut:
    actions = await queries.actions_of(conn, plan.id)
    visits = await queries.visits_of(conn, plan.id)
    return PlanOut(
        instance_id=instance_id,
        owner_name=plan.owner_name,
        owner_user_id=plan.owner_user_id,
        agency=plan.agency,
        target_exit_year=plan.target_exit_year,
        pathway=plan.pathway,
        summary=plan.summary,
        actions=[_action(action, today) for action in actions],
        visits=[VisitOut.from_row(visit) for visit in visits],
        total_amount_vnd=sum(action.amount_vnd or 0 for action in actions),
        gaps=_plan_gaps(plan, actions),
        updated_at=plan.updated_at,
    )


def _action(action: ActionRow, today: date) -> ActionOut:
    overdue = action.done_on is None and action.due_date is not None and action.due_date < today
    fields = msgspec.structs.asdict(action)
    del fields["updated_at"]
    return ActionOut(**fields, overdue=overdue)


def _plan_gaps(plan: PlanRow, actions: list[ActionRow]) -> list[str]:
    """What keeps a plan from being concrete (the directive's complaint: plans written for form's sake)."""
    found = []
    if plan.owner_name is None and plan.owner_user_id is None and plan.agency is None:
        found.append("no_owner")
    if not actions:
        found.append("no_actions")
    if any(action.due_date is None for action in actions):
        found.append("action_without_date")
    if any(action.responsible is None for action in actions):
        found.append("action_without_responsible")
    return found


async def plan_of(res: Resources, access: Access, xml_form_id: str, instance_id: str) -> PlanOut:
    async with res.pool.acquire() as conn:
        scope, submission_id = await _household(conn, access, "submission.read", xml_form_id, instance_id)
        plan = await queries.plan_of(conn, scope, submission_id)
        if plan is None:
            raise Problem.not_found("exit plan")
        return await _shown(conn, instance_id, plan, res.settings.local_today())


async def set_plan(res: Resources, access: Access, xml_form_id: str, instance_id: str, data: PlanIn) -> PlanOut:
    async with res.pool.acquire() as conn, conn.transaction():
        scope, submission_id = await _household(conn, access, "plan.manage", xml_form_id, instance_id)
        plan = await queries.upsert_plan(conn, scope, submission_id, data, access.actor.user_id)
        await _audit(conn, access, "plan.update", instance_id, msgspec.to_builtins(data))
        return await _shown(conn, instance_id, plan, res.settings.local_today())


async def add_action(res: Resources, access: Access, xml_form_id: str, instance_id: str, data: ActionIn) -> PlanOut:
    _check_action_dates(data.due_date, data.done_on, res.settings.local_today())
    async with res.pool.acquire() as conn, conn.transaction():
        plan = await _plan_to_change(conn, access, xml_form_id, instance_id)
        action_id = await queries.insert_action(conn, plan.id, data)
        await _audit(conn, access, "plan.action", instance_id, {"actionId": action_id, **msgspec.to_builtins(data)})
        return await _shown(conn, instance_id, plan, res.settings.local_today())


async def change_action(
    res: Resources, access: Access, xml_form_id: str, instance_id: str, action_id: int, data: ActionPatch
) -> PlanOut:
    changes = {name: value for name, value in msgspec.structs.asdict(data).items() if value is not msgspec.UNSET}
    if changes.get("support_type", "") is None or changes.get("description", "") is None:
        raise Problem.unexpected_value("supportType" if "support_type" in changes else "description", "required")
    async with res.pool.acquire() as conn, conn.transaction():
        plan = await _plan_to_change(conn, access, xml_form_id, instance_id)
        if not await queries.update_action(conn, plan.id, action_id, changes):
            raise Problem.not_found("action")
        current = next(a for a in await queries.actions_of(conn, plan.id) if a.id == action_id)
        _check_action_dates(current.due_date, current.done_on, res.settings.local_today())
        await _audit(conn, access, "plan.action", instance_id, {"actionId": action_id, **msgspec.to_builtins(changes)})
        return await _shown(conn, instance_id, plan, res.settings.local_today())


async def add_visit(res: Resources, access: Access, xml_form_id: str, instance_id: str, data: VisitIn) -> PlanOut:
    if data.visit_date > res.settings.local_today():
        raise Problem.unexpected_value("visitDate", "a visit cannot be in the future")
    async with res.pool.acquire() as conn, conn.transaction():
        plan = await _plan_to_change(conn, access, xml_form_id, instance_id)
        await queries.insert_visit(conn, plan.id, data, access.actor.user_id)
        await _audit(conn, access, "plan.visit", instance_id, msgspec.to_builtins(data))
        return await _shown(conn, instance_id, plan, res.settings.local_today())


def _check_action_dates(due: date | None, done: date | None, today: date) -> None:
    if done is not None and done > today:
        raise Problem.unexpected_value("doneOn", "an action cannot be done in the future")
    if due is not None and not date(2021, 1, 1) <= due <= date(2035, 12, 31):
        raise Problem.unexpected_value("dueDate", "a due date within the programme (2021 to 2035)")


async def _plan_to_change(conn: Connection, access: Access, xml_form_id: str, instance_id: str) -> PlanRow:
    scope, submission_id = await _household(conn, access, "plan.manage", xml_form_id, instance_id)
    plan = await queries.plan_of(conn, scope, submission_id)
    if plan is None:
        raise Problem.not_found("exit plan")
    return plan


async def _audit(conn: Connection, access: Access, action: str, instance_id: str, details: object) -> None:
    await record_audit(
        conn,
        action,
        actor_user_id=access.actor.user_id,
        project_id=access.project_id,
        details={"instanceId": instance_id, "change": details},
    )


async def gaps(
    res: Resources,
    access: Access,
    xml_form_id: str,
    gap: str,
    *,
    area: str | None,
    cursor: str | None,
    limit: int,
) -> GapsOut:
    wanted = _gap(gap)
    if not 1 <= limit <= MAX_GAP_PAGE:
        raise Problem.unexpected_value("limit", f"1 to {MAX_GAP_PAGE}")
    scope = access.scope("submission.list")
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "submission.list")
        rows = await queries.gaps(
            conn,
            scope,
            form.id,
            wanted,
            area=area,
            today=res.settings.local_today(),
            after=_decode(cursor),
            limit=limit,
        )
    last = rows[-1] if len(rows) == limit else None
    next_cursor = None
    if last is not None:
        position = [last.due_date.isoformat() if last.due_date else None, last.action_id or last.submission_id]
        next_cursor = base64.urlsafe_b64encode(msgspec.json.encode(position)).decode()
    return GapsOut(gap=wanted, items=[GapItemOut.from_row(row) for row in rows], next_cursor=next_cursor)


def _gap(value: str) -> Gap:
    if value not in GAPS:
        raise Problem.unexpected_value("gap", f"one of {', '.join(GAPS)}")
    return value


def _decode(cursor: str | None) -> tuple[date | None, int] | None:
    if cursor is None:
        return None
    try:
        due, position = msgspec.json.decode(base64.urlsafe_b64decode(cursor), type=tuple[date | None, int])
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise Problem.unexpected_value("cursor", "not a cursor from an earlier page") from None
    return due, position
