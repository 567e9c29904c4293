"""HTTP routes for a household's photo evidence, beside the submission routes (same path prefix, own router)."""

from __future__ import annotations

from typing import Literal

from litestar import Router, get
from litestar.params import FromPath
from litestar.response import Stream

from service.downloads import content_disposition
from service.http import AccessDep, ApiPrefixDep, ResourcesDep
from service.media.sniff import IMAGE_TYPES

from . import reading
from .models import EvidenceOut

__all__ = ["router"]


@get("/{instance:str}/evidence")
async def get_evidence(
    resources: ResourcesDep,
    access: AccessDep,
    api_prefix: ApiPrefixDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
) -> EvidenceOut:
    """The checks, what each photo holds, thumbnail URLs and the households (in your areas) sharing a photo."""
    base_url = f"{resources.settings.origin}{api_prefix}/projects/{access.project_id}"
    return await reading.household_evidence(resources, access, xml_form_id, instance, base_url=base_url)


@get("/{instance:str}/attachments/{name:str}/thumbnails/{size:str}")
async def get_thumbnail(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
    name: FromPath[str],
    size: FromPath[str],
) -> Stream:
    """`size`: small (about 240 px) or large (about 1280 px), upright, JPEG. Served like the attachment itself."""
    content_type, length, sha256, stream = await reading.read_thumbnail(
        resources, access, xml_form_id, instance, name, size
    )
    disposition: Literal["inline", "attachment"] = "inline" if content_type in IMAGE_TYPES else "attachment"
    return Stream(
        content=stream,
        media_type=content_type if content_type in IMAGE_TYPES else "application/octet-stream",
        headers={
            "Content-Length": str(length),
            "Content-Disposition": content_disposition(disposition, f"{size}-{name}"),
            "ETag": f'"{sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


router = Router(
    path="/projects/{project_id:int}/forms/{xml_form_id:str}/submissions",
    route_handlers=[get_evidence, get_thumbnail],
    tags=["evidence"],
)
