"""HTTP routes for reading submissions (/v1/projects/{id}/forms/{xmlFormId}/submissions, Central's shape)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post, put
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from service.bodies import declared_length, read_body, stream_body
from service.downloads import content_disposition
from service.errors import Problem
from service.http import AccessDep, ResourcesDep
from service.media import ensure_room
from service.media.sniff import IMAGE_TYPES
from service.plans.routes import on_submission as plan_routes
from service.review.routes import on_submission as review_routes
from service.stages.routes import on_submission as stage_routes

from . import reading, rest
from .models import AttachmentOut, SubmissionOut, VersionOut

__all__ = ["router"]

Limit = Annotated[int, QueryParameter(name="limit", ge=1, le=reading.MAX_PAGE)]
Cursor = Annotated[str | None, QueryParameter(name="cursor", max_length=200, required=False)]
DeviceId = Annotated[str | None, QueryParameter(name="deviceID", required=False, max_length=200)]
_XML_TYPES = frozenset({"application/xml", "text/xml"})
MAX_XML_BYTES = 10 * 1024 * 1024


def _extended(request: Request[Any, Any, Any]) -> bool:
    """Central's `X-Extended-Metadata: true` adds the submitter (an actor object) to each submission."""
    return request.headers.get("x-extended-metadata", "").strip().lower() == "true"


async def _xml_body(request: Request[Any, Any, Any]) -> bytes:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _XML_TYPES:
        raise Problem.unsupported_media_type(media_type or None, sorted(_XML_TYPES))
    return await read_body(request, MAX_XML_BYTES)


@get("/")
async def list_submissions(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    limit: Limit = 250,
    cursor: Cursor = None,
) -> Response[list[SubmissionOut]]:
    """Newest first, `limit` at a time; the next page's URL is in the `Link` header (rel="next")."""
    page = await reading.list_submissions(
        resources, access, xml_form_id, limit=limit, cursor=cursor, extended=_extended(request)
    )
    headers = {}
    if page.next_cursor is not None:
        query = urlencode({"limit": limit, "cursor": page.next_cursor})
        headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
    return Response(content=page.items, headers=headers)


@post("/", status_code=200, request_max_body_size=None)
async def create_submission(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    device_id: DeviceId = None,
) -> SubmissionOut:
    """A new household from its XML alone (Central's REST create; files follow through …/attachments/{name})."""
    access.require("submission.create")
    row = await rest.create_from_xml(
        resources,
        access,
        xml_form_id,
        await _xml_body(request),
        device_id=device_id,
        user_agent=request.headers.get("user-agent"),
    )
    return SubmissionOut.of(row)


@get("/{instance:str}")
async def get_submission(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
) -> Response[Any]:
    if instance.endswith(".xml"):
        xml = await reading.submission_xml(resources, access, xml_form_id, instance[:-4])
        return Response(content=xml.encode("utf-8"), media_type="application/xml")
    found = await reading.get_submission(resources, access, xml_form_id, instance, extended=_extended(request))
    return Response(content=found)


@put("/{instance:str}", request_max_body_size=None)
async def edit_submission(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
    device_id: DeviceId = None,
) -> SubmissionOut:
    """A new version of the household (Central's PUT): the XML's deprecatedID names its current version."""
    access.require("submission.update")
    row = await rest.edit_from_xml(
        resources,
        access,
        xml_form_id,
        instance,
        await _xml_body(request),
        device_id=device_id,
        user_agent=request.headers.get("user-agent"),
    )
    return SubmissionOut.of(row)


@get("/{instance:str}/versions")
async def list_versions(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], instance: FromPath[str]
) -> list[VersionOut]:
    return await reading.submission_versions(resources, access, xml_form_id, instance)


@get("/{instance:str}/attachments")
async def list_attachments(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], instance: FromPath[str]
) -> list[AttachmentOut]:
    return await reading.submission_attachments(resources, access, xml_form_id, instance)


@get("/{instance:str}/attachments/{name:str}")
async def get_attachment(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
    name: FromPath[str],
) -> Stream:
    content_type, size, sha256, stream = await reading.read_attachment(resources, access, xml_form_id, instance, name)
    # Only content that sniffed as an image is shown inline; everything else downloads, never renders.
    disposition: Literal["inline", "attachment"] = "inline" if content_type in IMAGE_TYPES else "attachment"
    return Stream(
        content=stream,
        media_type=content_type if content_type in IMAGE_TYPES else "application/octet-stream",
        headers={
            "Content-Length": str(size),
            "Content-Disposition": content_disposition(disposition, name),
            "ETag": f'"{sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


@post("/{instance:str}/attachments/{name:str}", status_code=200, request_max_body_size=None)
async def upload_attachment(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
    name: FromPath[str],
) -> dict[str, bool]:
    """A file the household's current version names, added or replaced (Central's REST attachment upload)."""
    access.require("submission.update")
    ensure_room(resources.store, resources.settings, declared_length(request))
    body = stream_body(request, resources.settings.max_submission_bytes)
    await rest.attach_file(resources, access, xml_form_id, instance, name, body)
    return {"success": True}


router = Router(
    path="/projects/{project_id:int}/forms/{xml_form_id:str}/submissions",
    route_handlers=[
        list_submissions,
        create_submission,
        get_submission,
        edit_submission,
        list_versions,
        list_attachments,
        get_attachment,
        upload_attachment,
        *review_routes,
        *stage_routes,
        *plan_routes,
    ],
    tags=["submissions"],
)
