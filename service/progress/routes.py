"""HTTP routes of progress against the targets: a form's figures (…/forms/{f}/progress, .csv) and the data they are
measured against (/v1/areas/household-totals, /v1/areas/targets, /v1/areas/poor-districts)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, delete, get, patch, put
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from service.bodies import read_body
from service.downloads import content_disposition
from service.http import AccessDep, ActorDep, ResourcesDep

from . import service, totals
from .models import (
    HouseholdTotalIn,
    HouseholdTotalOut,
    PoorDistrictIn,
    PoorDistrictOut,
    ProgressOut,
    TargetIn,
    TargetOut,
    TotalsImported,
)

__all__ = ["areas_router", "form_router"]

YearQuery = Annotated[int | None, QueryParameter(name="year", required=False, ge=2000, le=2100)]
AreaQuery = Annotated[str | None, QueryParameter(name="area", required=False, min_length=1, max_length=40)]
Code = FromPath[str]
# A year in a path: a year of the province's reviews, refused (400) before it reaches a query otherwise.
PathYear = Annotated[int, PathParameter(ge=2000, le=2100)]
_MAX_CSV_BYTES = 2 * 1024 * 1024


@get("/progress")
async def progress(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    year: YearQuery = None,
    area: AreaQuery = None,
) -> ProgressOut:
    """Households, poor and near-poor rates against the targets, changes since last year and temporary houses, per
    province, district and commune within the caller's areas."""
    return await service.progress(resources, access, xml_form_id, year=year, area=area)


@get("/progress.csv")
async def progress_csv(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    year: YearQuery = None,
    area: AreaQuery = None,
) -> Response[bytes]:
    out = await service.progress(resources, access, xml_form_id, year=year, area=area)
    name = f"{xml_form_id}-progress-{out.year}.csv"
    return Response(
        content=service.progress_csv(out),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition("attachment", name), "Cache-Control": "private, no-cache"},
    )


form_router = Router(
    path="/projects/{project_id:int}/forms/{xml_form_id:str}",
    route_handlers=[progress, progress_csv],
    tags=["progress"],
)


@get("/household-totals")
async def list_household_totals(
    resources: ResourcesDep, actor: ActorDep, year: YearQuery = None
) -> list[HouseholdTotalOut]:
    return await totals.list_household_totals(resources, actor, year)


@put("/household-totals", status_code=200, request_max_body_size=None)
async def import_household_totals(
    request: Request[Any, Any, Any], resources: ResourcesDep, actor: ActorDep
) -> TotalsImported:
    """A CSV with the columns area_code, year, households: sets the rows it lists (districts and communes), keeps
    the others. Admins; managers for the areas they manage."""
    return await totals.import_household_totals(resources, actor, await read_body(request, _MAX_CSV_BYTES))


@patch("/{code:str}/household-totals/{year:int}")
async def set_household_total(
    resources: ResourcesDep, actor: ActorDep, code: Code, year: PathYear, data: JSONBody[HouseholdTotalIn]
) -> HouseholdTotalOut:
    return await totals.set_household_total(resources, actor, code, year, data.households)


@delete("/{code:str}/household-totals/{year:int}", status_code=204)
async def delete_household_total(resources: ResourcesDep, actor: ActorDep, code: Code, year: PathYear) -> None:
    await totals.delete_household_total(resources, actor, code, year)


@get("/targets")
async def list_targets(resources: ResourcesDep, actor: ActorDep) -> list[TargetOut]:
    return await totals.list_targets(resources, actor)


@put("/{code:str}/targets/{year:int}", status_code=200)
async def set_target(
    resources: ResourcesDep, actor: ActorDep, code: Code, year: PathYear, data: JSONBody[TargetIn]
) -> TargetOut:
    """The target rates (percent of all households) at the end of a year's review (admins)."""
    return await totals.set_target(resources, actor, code, year, data)


@delete("/{code:str}/targets/{year:int}", status_code=204)
async def delete_target(resources: ResourcesDep, actor: ActorDep, code: Code, year: PathYear) -> None:
    await totals.delete_target(resources, actor, code, year)


@get("/poor-districts")
async def list_poor_districts(resources: ResourcesDep, actor: ActorDep) -> list[PoorDistrictOut]:
    return await totals.list_poor_districts(resources, actor)


@put("/{code:str}/poor-district", status_code=200)
async def set_poor_district(
    resources: ResourcesDep, actor: ActorDep, code: Code, data: JSONBody[PoorDistrictIn]
) -> PoorDistrictOut:
    """A district on the national list of poor districts, and the exit threshold once confirmed (admins)."""
    return await totals.set_poor_district(resources, actor, code, data)


areas_router = Router(
    path="/v1/areas",
    route_handlers=[
        list_household_totals,
        import_household_totals,
        set_household_total,
        delete_household_total,
        list_targets,
        set_target,
        delete_target,
        list_poor_districts,
        set_poor_district,
    ],
    tags=["progress"],
)
