"""HTTP routes of the review stages: a household's stages and one step (on the submissions router's paths), and one
step for many households."""

from __future__ import annotations

from litestar import Router, get, post
from litestar.params import FromPath, JSONBody

from service.http import AccessDep, ResourcesDep

from . import service
from .models import BulkStageIn, BulkStageOut, StageIn, StageOut

__all__ = ["on_submission", "router"]


@get("/{instance:str}/stages")
async def stages_of(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], instance: FromPath[str]
) -> StageOut:
    """Where the household is in the review, and every step so far."""
    return await service.stages_of(resources, access, xml_form_id, instance)


@post("/{instance:str}/stages", status_code=200)
async def take_step(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
    data: JSONBody[StageIn],
) -> StageOut:
    """One step: the village meeting's result, the public posting, the commune's decision, or back to re-review."""
    return await service.step(resources, access, xml_form_id, instance, data)


# Registered on the submissions router (…/forms/{f}/submissions): service/submissions/routes.py.
on_submission = [stages_of, take_step]


@post("/stages", status_code=200)
async def bulk_step(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], data: JSONBody[BulkStageIn]
) -> BulkStageOut:
    """The same step for many households (a village's meeting, a commune's posting or decision), all or nothing."""
    return await service.bulk_step(resources, access, xml_form_id, data)


router = Router(path="/projects/{project_id:int}/forms/{xml_form_id:str}", route_handlers=[bulk_step], tags=["stages"])
