"""GET /v1/system/jobs: the background jobs overview (administrators only)."""

from __future__ import annotations

from litestar import Router, get

from service.http import ActorDep, ResourcesDep

from . import service
from .models import JobsOut

__all__ = ["router"]


@get("/jobs")
async def jobs_overview(resources: ResourcesDep, actor: ActorDep) -> JobsOut:
    """Counts by kind and state, how long the oldest ready job has waited, and the last errors."""
    return await service.jobs_overview(resources, actor)


router = Router(path="/v1/system", route_handlers=[jobs_overview], tags=["system"])
