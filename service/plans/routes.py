"""HTTP routes of exit plans: a household's plan (on the submissions router's paths) and the gap lists."""

from __future__ import annotations

from typing import Annotated

from litestar import Router, get, patch, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from service.http import AccessDep, PathId, ResourcesDep

from . import service
from .models import ActionIn, ActionPatch, GapsOut, PlanIn, PlanOut, VisitIn

__all__ = ["on_submission", "router"]


@get("/{instance:str}/plan")
async def plan_of(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], instance: FromPath[str]
) -> PlanOut:
    return await service.plan_of(resources, access, xml_form_id, instance)


@put("/{instance:str}/plan")
async def set_plan(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
    data: JSONBody[PlanIn],
) -> PlanOut:
    """Who answers for the plan, its pathway and target year (creates the plan the first time)."""
    return await service.set_plan(resources, access, xml_form_id, instance, data)


@post("/{instance:str}/plan/actions", status_code=200)
async def add_action(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
    data: JSONBody[ActionIn],
) -> PlanOut:
    return await service.add_action(resources, access, xml_form_id, instance, data)


@patch("/{instance:str}/plan/actions/{action_id:int}")
async def change_action(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
    action_id: PathId,
    data: JSONBody[ActionPatch],
) -> PlanOut:
    """Change an action (mark it done with `doneOn`)."""
    return await service.change_action(resources, access, xml_form_id, instance, action_id, data)


@post("/{instance:str}/plan/visits", status_code=200)
async def add_visit(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
    data: JSONBody[VisitIn],
) -> PlanOut:
    return await service.add_visit(resources, access, xml_form_id, instance, data)


on_submission = [plan_of, set_plan, add_action, change_action, add_visit]


@get("/plan-gaps")
async def gaps(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    gap: Annotated[str, QueryParameter(name="gap", max_length=20)],
    area: Annotated[str | None, QueryParameter(name="area", required=False, max_length=40)] = None,
    cursor: Annotated[str | None, QueryParameter(name="cursor", required=False, max_length=200)] = None,
    limit: Annotated[int, QueryParameter(name="limit", ge=1, le=service.MAX_GAP_PAGE)] = 100,
) -> GapsOut:
    """no_plan, no_owner, overdue or no_agency: what the exit plans of the caller's areas still lack."""
    return await service.gaps(resources, access, xml_form_id, gap, area=area, cursor=cursor, limit=limit)


router = Router(path="/projects/{project_id:int}/forms/{xml_form_id:str}", route_handlers=[gaps], tags=["plans"])
