"""HTTP routes of exports: …/forms/{xmlFormId}/submissions.csv.zip, .csv, .xlsx, .geojson (Central's paths)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter, SkipValidation
from litestar.response import Stream

from service.downloads import content_disposition
from service.http import AccessDep, ApiPrefixDep, ResourcesDep
from service.submissions.queries import HouseholdFilter

from . import feed, service
from .plan import ExportOptions

__all__ = ["router"]

Flag = Annotated[str | None, QueryParameter(required=False, max_length=5)]
States = Annotated[list[str] | None, QueryParameter(name="state", required=False)]
Area = Annotated[str | None, QueryParameter(name="area", required=False, max_length=40)]
Since = Annotated[datetime | None, QueryParameter(name="since", required=False)]
Until = Annotated[datetime | None, QueryParameter(name="until", required=False)]
Version = Annotated[str | None, QueryParameter(name="version", required=False, max_length=200)]
Labels = Annotated[Literal["vi", "en"] | None, QueryParameter(name="labels", required=False)]


def _households(
    states: States = None, area: Area = None, since: Since = None, until: Until = None, version: Version = None
) -> HouseholdFilter:
    """The filters every export takes (within the caller's areas, always)."""
    return HouseholdFilter(states=states, area=area, since=since, until=until, form_version=version)


HouseholdsDep = NamedDependency[SkipValidation[HouseholdFilter]]


def _flag(value: str | None, default: bool) -> bool:
    """Central and pyODK send true/false, True/False or 1/0."""
    return default if value is None else value.strip().lower() in {"true", "1", "yes"}


def _not_modified(request: Request[Any, Any, Any], etag: str) -> Response[bytes] | None:
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(content=b"", status_code=304, headers={"ETag": etag})
    return None


def _headers(etag: str, name: str) -> dict[str, str]:
    return {
        "ETag": etag,
        "Content-Disposition": content_disposition("attachment", name),
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }


async def _export(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    api_prefix: str,
    xml_form_id: str,
    kind: Literal["csv", "zip", "xlsx", "geojson"],
    options: ExportOptions,
    households: HouseholdFilter,
) -> Response[bytes] | Stream:
    export = await service.prepare_export(
        resources, access, xml_form_id, households, options, kind=kind, api_prefix=api_prefix
    )
    if (unchanged := _not_modified(request, export.etag)) is not None:
        return unchanged
    await service.audit_export(resources, access, export, kind)
    if kind == "zip":
        body, media_type, name = service.stream_zip(resources, export), "application/zip", f"{xml_form_id}.zip"
    elif kind == "csv":
        body, media_type, name = service.stream_csv(resources, export), "text/csv", f"{xml_form_id}.csv"
    elif kind == "xlsx":
        body = service.stream_xlsx(resources, export)
        media_type, name = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{xml_form_id}.xlsx"
    else:
        body, media_type, name = (
            service.stream_geojson(resources, export),
            "application/geo+json",
            f"{xml_form_id}.geojson",
        )
    return Stream(content=body, media_type=media_type, headers=_headers(export.etag, name))


@get("/submissions.csv.zip")
async def csv_zip(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    api_prefix: ApiPrefixDep,
    xml_form_id: FromPath[str],
    households: HouseholdsDep,
    attachments: Flag = None,
    split_select_multiples: Annotated[str | None, QueryParameter(name="splitSelectMultiples", required=False)] = None,
    group_paths: Annotated[str | None, QueryParameter(name="groupPaths", required=False)] = None,
    labels: Labels = None,
) -> Response[bytes] | Stream:
    """Every table as CSV (the households, one per repeat), and the photos under media/ unless attachments=false."""
    options = ExportOptions(
        split_select_multiples=_flag(split_select_multiples, False),
        group_paths=_flag(group_paths, True),
        labels=labels,
        media=_flag(attachments, True),
    )
    return await _export(request, resources, access, api_prefix, xml_form_id, "zip", options, households)


@get("/submissions.csv")
async def csv(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    api_prefix: ApiPrefixDep,
    xml_form_id: FromPath[str],
    households: HouseholdsDep,
    split_select_multiples: Annotated[str | None, QueryParameter(name="splitSelectMultiples", required=False)] = None,
    group_paths: Annotated[str | None, QueryParameter(name="groupPaths", required=False)] = None,
    labels: Labels = None,
) -> Response[bytes] | Stream:
    """The households' table alone."""
    options = ExportOptions(
        split_select_multiples=_flag(split_select_multiples, False), group_paths=_flag(group_paths, True), labels=labels
    )
    return await _export(request, resources, access, api_prefix, xml_form_id, "csv", options, households)


@get("/submissions.xlsx")
async def spreadsheet(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    api_prefix: ApiPrefixDep,
    xml_form_id: FromPath[str],
    households: HouseholdsDep,
    split_select_multiples: Annotated[str | None, QueryParameter(name="splitSelectMultiples", required=False)] = None,
    labels: Labels = None,
) -> Response[bytes] | Stream:
    """One sheet per table (the households, one per repeat), written in constant memory."""
    options = ExportOptions(split_select_multiples=_flag(split_select_multiples, False), labels=labels, media=False)
    return await _export(request, resources, access, api_prefix, xml_form_id, "xlsx", options, households)


@get("/submissions.geojson")
async def geojson(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    api_prefix: ApiPrefixDep,
    xml_form_id: FromPath[str],
    households: HouseholdsDep,
) -> Response[bytes] | Stream:
    """The households as a GeoJSON FeatureCollection (their main geopoint), for QGIS and web maps."""
    options = ExportOptions(media=False)
    return await _export(request, resources, access, api_prefix, xml_form_id, "geojson", options, households)


@get("/changes")
async def changes(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    since: Annotated[str | None, QueryParameter(name="since", required=False, max_length=100)] = None,
    limit: Annotated[int, QueryParameter(name="limit", ge=1, le=feed.MAX_FEED_PAGE)] = 1000,
) -> feed.FeedOut:
    """Changes to the form's households in commit order after `since` (a cursor from an earlier answer)."""
    return await feed.read_feed(resources, access, xml_form_id, since=since, limit=limit)


router = Router(
    path="/projects/{project_id:int}/forms/{xml_form_id:str}",
    route_handlers=[csv_zip, csv, spreadsheet, geojson, changes],
    dependencies={"households": Provide(_households, sync_to_thread=False)},
    tags=["exports"],
)
