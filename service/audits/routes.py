"""GET /v1/audits (Central's shape and filters)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Router, get
from litestar.params import QueryParameter

from service.http import ActorDep, ResourcesDep

from . import service
from .models import AuditOut

__all__ = ["router"]

Action = Annotated[str | None, QueryParameter(name="action", required=False, max_length=100)]
Start = Annotated[datetime | None, QueryParameter(name="start", required=False)]
End = Annotated[datetime | None, QueryParameter(name="end", required=False)]
Limit = Annotated[int, QueryParameter(name="limit", ge=1, le=service.MAX_AUDIT_PAGE)]
Offset = Annotated[int, QueryParameter(name="offset", ge=0, le=service.MAX_OFFSET)]


@get("/")
async def list_audits(
    resources: ResourcesDep,
    actor: ActorDep,
    action: Action = None,
    start: Start = None,
    end: End = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AuditOut]:
    return await service.list_audits(resources, actor, action=action, start=start, end=end, limit=limit, offset=offset)


router = Router(path="/v1/audits", route_handlers=[list_audits], tags=["audits"])
