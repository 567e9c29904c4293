"""HTTP routes for reading submissions (/v1/projects/{id}/forms/{xmlFormId}/submissions, Central's shape)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from litestar import Request, Response, Router, get
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from service.downloads import content_disposition
from service.http import AccessDep, ResourcesDep
from service.media.sniff import IMAGE_TYPES

from . import reading
from .models import AttachmentOut, SubmissionOut, VersionOut

__all__ = ["router"]

Limit = Annotated[int, QueryParameter(name="limit", ge=1, le=reading.MAX_PAGE)]
Cursor = Annotated[str | None, QueryParameter(name="cursor", max_length=200, required=False)]


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
    page = await reading.list_submissions(resources, access, xml_form_id, limit=limit, cursor=cursor)
    headers = {}
    if page.next_cursor is not None:
        query = urlencode({"limit": limit, "cursor": page.next_cursor})
        headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
    return Response(content=page.items, headers=headers)


@get("/{instance:str}")
async def get_submission(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], instance: FromPath[str]
) -> Response[Any]:
    if instance.endswith(".xml"):
        xml = await reading.submission_xml(resources, access, xml_form_id, instance[:-4])
        return Response(content=xml.encode("utf-8"), media_type="application/xml")
    return Response(content=await reading.get_submission(resources, access, xml_form_id, instance))


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


router = Router(
    path="/projects/{project_id:int}/forms/{xml_form_id:str}/submissions",
    route_handlers=[list_submissions, get_submission, list_versions, list_attachments, get_attachment],
    tags=["submissions"],
)
