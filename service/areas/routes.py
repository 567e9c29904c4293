"""HTTP routes for areas (/v1/areas) and a form's area fields (…/forms/{xmlFormId}/area-fields)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from service.bodies import read_body
from service.http import AccessDep, ActorDep, ResourcesDep

from . import service
from .models import AreaFields, AreaFieldsIn, AreaLevel, AreaOut, LoadedAreas

__all__ = ["areas_router", "form_areas_router"]

Level = Annotated[AreaLevel | None, QueryParameter(name="level", required=False)]
Parent = Annotated[str | None, QueryParameter(name="parent", required=False, max_length=40)]
_MAX_CSV_BYTES = 5 * 1024 * 1024


@get("/")
async def list_areas(
    resources: ResourcesDep, actor: ActorDep, level: Level = None, parent: Parent = None
) -> list[AreaOut]:
    return await service.list_areas(resources, actor, level=level, parent_code=parent)


@post("/", status_code=200, request_max_body_size=None)
async def import_areas(request: Request[Any, Any, Any], resources: ResourcesDep, actor: ActorDep) -> LoadedAreas:
    """A CSV with the columns code, level, parent_code, name[, name_en] (admins)."""
    return await service.import_areas_csv(resources, actor, await read_body(request, _MAX_CSV_BYTES))


areas_router = Router(path="/v1/areas", route_handlers=[list_areas, import_areas], tags=["areas"])


@get("/area-fields")
async def get_area_fields(resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str]) -> AreaFields:
    return await service.area_fields(resources, access, xml_form_id)


@put("/area-fields", status_code=200)
async def put_area_fields(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], data: JSONBody[AreaFieldsIn]
) -> LoadedAreas:
    fields = AreaFields(district=data.district, commune=data.commune, village=data.village)
    return await service.set_area_fields(resources, access, xml_form_id, fields)


@post("/areas/load", status_code=200)
async def load_areas(resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str]) -> LoadedAreas:
    """Load the districts, communes and villages the published form lists (admins)."""
    return await service.load_areas_from_form(resources, access, xml_form_id)


form_areas_router = Router(
    path="/projects/{project_id:int}/forms/{xml_form_id:str}",
    route_handlers=[get_area_fields, put_area_fields, load_areas],
    tags=["areas"],
)
