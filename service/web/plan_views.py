"""The household page's exit plan, read-only (service/plans decides and keeps it): who answers for it, the sponsoring
agency, the pathway and target year, the actions with their due dates (overdue ones marked), the follow-up visits, and
what keeps the plan vague (its gaps). Households without a plan show nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, get_args

import msgspec

from service.errors import Problem
from service.plans import service as plans
from service.plans.models import Pathway, Progress, SupportType

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.plans.models import ActionOut, VisitOut
    from service.resources import Resources

    from .i18n import Translator

__all__ = ["PLAN_GAPS", "PLAN_LABELS", "PlanActionView", "PlanView", "PlanVisitView", "plan_view"]

# The message keys of the plan's coded values, one per value the plans capability knows (tests/web/test_i18n.py
# checks each exists in both languages): support.*, pathway.*, progress.* and plan_gap.*.
PLAN_GAPS = ("no_owner", "no_actions", "action_without_date", "action_without_responsible")
PLAN_LABELS = {
    "support": get_args(SupportType),
    "pathway": get_args(Pathway),
    "progress": get_args(Progress),
    "plan_gap": PLAN_GAPS,
}


class PlanActionView(msgspec.Struct, frozen=True, kw_only=True):
    support: str
    description: str
    responsible: str | None
    amount: str | None
    due: str | None
    done_on: str | None
    overdue: bool


class PlanVisitView(msgspec.Struct, frozen=True, kw_only=True):
    day: str
    # on_track, behind or at_risk (its label next to it)
    progress: str
    progress_label: str
    by: str | None
    note: str | None


class PlanView(msgspec.Struct, frozen=True, kw_only=True):
    owner: str | None
    agency: str | None
    pathway: str | None
    target_year: int | None
    summary: str | None
    actions: list[PlanActionView]
    overdue: int
    visits: list[PlanVisitView]
    total_amount: str | None
    gaps: list[str]


def _label(t: Translator, group: str, code: str | None) -> str | None:
    if code is None:
        return None
    key = f"{group}.{code}"
    return t(key) if code in PLAN_LABELS[group] else code


def _action(action: ActionOut, t: Translator) -> PlanActionView:
    return PlanActionView(
        support=_label(t, "support", action.support_type) or "",
        description=action.description,
        responsible=action.responsible,
        amount=t("answer.vnd", n=t.number(action.amount_vnd)) if action.amount_vnd else None,
        due=t.day(action.due_date) or None,
        done_on=t.day(action.done_on) or None,
        overdue=action.overdue,
    )


def _visit(visit: VisitOut, t: Translator) -> PlanVisitView:
    return PlanVisitView(
        day=t.day(visit.visit_date),
        progress=visit.progress,
        progress_label=_label(t, "progress", visit.progress) or visit.progress,
        by=visit.visited_by_name,
        note=visit.note,
    )


def _urgency(action: ActionOut) -> tuple[bool, bool, bool, int, int]:
    """Most urgent first: overdue, then by due date (undated last), done ones at the end."""
    due = action.due_date.toordinal() if action.due_date else 0
    return (action.done_on is not None, not action.overdue, action.due_date is None, due, action.id)


async def plan_view(
    res: Resources, access: Access, xml_form_id: str, instance_id: str, t: Translator
) -> PlanView | None:
    """The plan, or None when the household has none (the plans service says 404 for both "no household" and "no
    plan"; the page has already read the household, so here it means no plan)."""
    try:
        plan = await plans.plan_of(res, access, xml_form_id, instance_id)
    except Problem as missing:
        if missing.status != 404:
            raise
        return None
    actions = sorted(plan.actions, key=_urgency)
    return PlanView(
        owner=plan.owner_name,
        agency=plan.agency,
        pathway=_label(t, "pathway", plan.pathway),
        target_year=plan.target_exit_year,
        summary=plan.summary,
        actions=[_action(a, t) for a in actions],
        overdue=sum(1 for a in plan.actions if a.overdue),
        visits=[_visit(v, t) for v in sorted(plan.visits, key=lambda v: v.visit_date, reverse=True)],
        total_amount=t("answer.vnd", n=t.number(plan.total_amount_vnd)) if plan.total_amount_vnd else None,
        gaps=[_label(t, "plan_gap", gap) or gap for gap in plan.gaps],
    )
