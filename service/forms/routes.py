"""HTTP routes for /v1/projects/{id}/forms, following ODK Central's shapes so pyODK works unchanged.

Litestar path parameters are whole segments, so `/forms/{id}.xml` and friends arrive as one segment and are
told apart by suffix here, as Central's router does.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from service.bodies import declared_length, read_body, stream_body
from service.errors import Problem
from service.http import AccessDep, ResourcesDep
from service.media import ensure_room
from service.odata import routes as odata_routes

from . import media, reading, service
from .models import AttachmentOut, FieldOut, FormOut, FormUpdateIn
from .responses import attachment_response, download, xml_response

__all__ = ["router"]

_SOURCE_SUFFIXES = {".xlsx": "xlsx", ".xls": "xls"}
_FILENAME = re.compile(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', re.IGNORECASE)


def _fallback_form_id(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("x-xlsform-formid-fallback")
    if header:
        return header
    disposition = request.headers.get("content-disposition", "")
    match = _FILENAME.search(disposition)
    if match:
        return match[1].rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return None


IgnoreWarnings = Annotated[bool, QueryParameter(name="ignoreWarnings")]


@get("/")
async def list_forms(resources: ResourcesDep, access: AccessDep) -> list[FormOut]:
    return await service.list_forms(resources, access)


@post("/", status_code=200, request_max_body_size=None)
async def create_form(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    ignore_warnings: IgnoreWarnings = False,
    publish: FromQuery[bool] = False,
) -> FormOut:
    ensure_room(resources.store, resources.settings, declared_length(request))
    data = await read_body(request, resources.settings.max_form_upload_bytes)
    return await service.create_form(
        resources,
        access,
        data,
        content_type=request.headers.get("content-type"),
        fallback_form_id=_fallback_form_id(request),
        publish=publish,
        ignore_warnings=ignore_warnings,
    )


@get("/{name:str}")
async def get_form(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    name: FromPath[str],
) -> Response[Any] | Stream:
    if name.endswith(".svc"):  # OData's service document (service/odata/routes.py)
        return await odata_routes.service_document(request, resources, access, name)
    if name.endswith(".xml"):
        xml, md5 = await reading.read_form_xml(resources, access, name[:-4])
        return xml_response(xml, md5, request)
    for suffix, expected_type in _SOURCE_SUFFIXES.items():
        if name.endswith(suffix):
            xml_form_id = name[: -len(suffix)]
            source_type, content_type, stream = await reading.read_source(resources, access, xml_form_id)
            if source_type != expected_type:
                raise Problem.not_found("form source")
            return download(content_type, stream, f"{xml_form_id}{suffix}")
    return Response(content=await service.get_form(resources, access, name))


@patch("/{xml_form_id:str}")
async def update_form(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    data: JSONBody[FormUpdateIn],
) -> FormOut:
    return await service.set_form_state(resources, access, xml_form_id, data.state)


@delete("/{xml_form_id:str}", status_code=200)
async def delete_form(resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str]) -> dict[str, bool]:
    await service.delete_form(resources, access, xml_form_id)
    return {"success": True}


@get("/{xml_form_id:str}/fields")
async def form_fields(resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str]) -> list[FieldOut]:
    return await reading.form_fields(resources, access, xml_form_id)


@get("/{xml_form_id:str}/versions")
async def list_versions(resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str]) -> list[FormOut]:
    return await reading.list_versions(resources, access, xml_form_id)


@get("/{xml_form_id:str}/versions/{version:str}")
async def get_version(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    version: FromPath[str],
) -> Response[Any] | Stream:
    if version.endswith(".xml"):
        xml, md5 = await reading.read_form_xml(resources, access, xml_form_id, version[:-4])
        return xml_response(xml, md5, request)
    for suffix in _SOURCE_SUFFIXES:
        if version.endswith(suffix):
            v = version[: -len(suffix)]
            _, content_type, stream = await reading.read_source(resources, access, xml_form_id, v)
            return download(content_type, stream, f"{xml_form_id}-{v}{suffix}")
    versions = await reading.list_versions(resources, access, xml_form_id)
    for found in versions:
        if found.version == version:
            return Response(content=found)
    raise Problem.not_found("form version")


@get("/{xml_form_id:str}/attachments")
async def list_attachments(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str]
) -> list[AttachmentOut]:
    return await reading.list_attachments(resources, access, xml_form_id)


@get("/{xml_form_id:str}/attachments/{name:str}")
async def get_attachment(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    name: FromPath[str],
) -> Response[Any] | Stream:
    return await attachment_response(request, resources, access, xml_form_id, name, "published")


# Drafts
@post("/{xml_form_id:str}/draft", status_code=200, request_max_body_size=None)
async def create_draft(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    ignore_warnings: IgnoreWarnings = False,
) -> FormOut:
    ensure_room(resources.store, resources.settings, declared_length(request))
    data = await read_body(request, resources.settings.max_form_upload_bytes)
    created = await service.create_draft(
        resources,
        access,
        xml_form_id,
        data,
        content_type=request.headers.get("content-type"),
        ignore_warnings=ignore_warnings,
    )
    return msgspec.structs.replace(created, success=True)


@get("/{xml_form_id:str}/draft")
async def get_draft(resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str]) -> FormOut:
    return await service.get_draft(resources, access, xml_form_id)


@delete("/{xml_form_id:str}/draft", status_code=200)
async def delete_draft(resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str]) -> dict[str, bool]:
    await service.delete_draft(resources, access, xml_form_id)
    return {"success": True}


@get("/{xml_form_id:str}/draft.xml")
async def get_draft_xml(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
) -> Response[bytes]:
    xml, md5 = await reading.read_form_xml(resources, access, xml_form_id, "draft")
    return xml_response(xml, md5, request)


@post("/{xml_form_id:str}/draft/publish", status_code=200)
async def publish_draft(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    version: FromQuery[str | None] = None,
) -> FormOut:
    published = await service.publish_draft(resources, access, xml_form_id, new_version=version)
    return msgspec.structs.replace(published, success=True)


@get("/{xml_form_id:str}/draft/attachments")
async def list_draft_attachments(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str]
) -> list[AttachmentOut]:
    return await reading.list_attachments(resources, access, xml_form_id, "draft")


@get("/{xml_form_id:str}/draft/attachments/{name:str}")
async def get_draft_attachment(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    name: FromPath[str],
) -> Response[Any] | Stream:
    return await attachment_response(request, resources, access, xml_form_id, name, "draft")


@post("/{xml_form_id:str}/draft/attachments/{name:str}", status_code=200, request_max_body_size=None)
async def upload_draft_attachment(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    name: FromPath[str],
) -> AttachmentOut:
    ensure_room(resources.store, resources.settings, declared_length(request))
    body = stream_body(request, resources.settings.max_form_attachment_bytes)
    return await media.upload_attachment(resources, access, xml_form_id, name, body)


@delete("/{xml_form_id:str}/draft/attachments/{name:str}", status_code=200)
async def clear_draft_attachment(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], name: FromPath[str]
) -> dict[str, bool]:
    await media.clear_attachment(resources, access, xml_form_id, name)
    return {"success": True}


router = Router(
    path="/projects/{project_id:int}/forms",
    route_handlers=[
        list_forms,
        create_form,
        get_form,
        update_form,
        delete_form,
        form_fields,
        list_versions,
        get_version,
        list_attachments,
        get_attachment,
        create_draft,
        get_draft,
        delete_draft,
        get_draft_xml,
        publish_draft,
        list_draft_attachments,
        get_draft_attachment,
        upload_draft_attachment,
        clear_draft_attachment,
    ],
    tags=["forms"],
)
