"""OpenRosa endpoints at ODK Central's paths: one handler set, registered under `/v1` (web users: Basic over
HTTPS or Bearer) and under `/v1/key/{token}` (app users: the token in the URL is the credential) by app.py.
Which caller it is comes from the router's `actor` dependency; everything else is the same code.

Wire rules that matter to Collect (docs/openrosa.md): `X-OpenRosa-Version: 1.0` required on OpenRosa calls; form
list and manifest as `text/xml` with the OpenRosa headers; HEAD answered 204 with the advertised size; only 201
means "sent"; absolute URLs from the public origin; no cookies; `deviceID` on every URL; errors as an
OpenRosaResponse whose <message> Collect shows the enumerator. Unlike Central, a 401 carries a WWW-Authenticate
challenge so Collect can answer it.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, Router, get, post, route
from litestar.params import FromPath, QueryParameter

from service.bodies import check_declared_length, declared_length, stream_body
from service.errors import Problem
from service.forms import reading as forms
from service.forms.collect import forms_for_collect
from service.http import AccessDep, ApiPrefixDep, ResourcesDep
from service.media import ensure_room
from service.problems import problem_for
from service.submissions.service import ingest_submission

from . import documents
from .multipart import receive_submission

__all__ = ["router"]

log = logging.getLogger(__name__)

# Litestar appends "; charset=utf-8" to text types itself.
TEXT_XML = "text/xml"
SUCCESS = "full submission upload was successful!"
MAX_XML_PART_BYTES = 10 * 1024 * 1024

DeviceId = Annotated[str | None, QueryParameter(name="deviceID", required=False)]
FormIdFilter = Annotated[str | None, QueryParameter(name="formID", required=False)]


def _openrosa_headers(resources: ResourcesDep) -> dict[str, str]:
    return {
        "X-OpenRosa-Version": "1.0",
        "X-OpenRosa-Accept-Content-Length": str(resources.settings.openrosa_accept_content_length),
        "Content-Language": "en",
    }


def _require_openrosa_header(request: Request[Any, Any, Any]) -> None:
    value = request.headers.get("x-openrosa-version")
    if value is None or value.strip() != "1.0":
        raise Problem.invalid_header("X-OpenRosa-Version", value)


def _project_url(resources: ResourcesDep, api_prefix: ApiPrefixDep, access: AccessDep) -> str:
    """The public URL of this project as the caller reached it (keeping `/v1/key/{token}` for app users)."""
    return f"{resources.settings.origin}{api_prefix}/projects/{access.project_id}"


@get("/formList")
async def form_list(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    api_prefix: ApiPrefixDep,
    form_id: FormIdFilter = None,
) -> Response[bytes]:
    _require_openrosa_header(request)
    listed = await forms_for_collect(resources, access, form_id)
    return Response(
        content=documents.form_list(listed, _project_url(resources, api_prefix, access)),
        media_type=TEXT_XML,
        # A cacheable list would make Collect's HTTP cache show stale forms.
        headers={**_openrosa_headers(resources), "Cache-Control": "private, no-cache"},
    )


@get("/forms/{xml_form_id:str}/manifest")
async def manifest(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    api_prefix: ApiPrefixDep,
    xml_form_id: FromPath[str],
) -> Response[bytes]:
    _require_openrosa_header(request)
    attachments = await forms.list_attachments(resources, access, xml_form_id)
    files = [(a.name, a.hash) for a in attachments if a.exists and a.hash]
    form_url = f"{_project_url(resources, api_prefix, access)}/forms/{quote(xml_form_id, safe='')}"
    return Response(
        content=documents.manifest(files, form_url),
        media_type=TEXT_XML,
        headers={**_openrosa_headers(resources), "Cache-Control": "private, no-cache"},
    )


@route("/submission", http_method=["HEAD", "GET"])
async def submission_probe(
    request: Request[Any, Any, Any], resources: ResourcesDep, access: AccessDep
) -> Response[bytes]:
    _require_openrosa_header(request)
    access.require("submission.create")
    return Response(content=b"", status_code=204, headers=_openrosa_headers(resources))


@post("/submission", status_code=201, request_max_body_size=None)
async def submission(
    request: Request[Any, Any, Any], resources: ResourcesDep, access: AccessDep, device_id: DeviceId = None
) -> Response[bytes]:
    _require_openrosa_header(request)
    # Refuse before reading the body: a rejected 10 MB upload over 3G should cost the phone nothing.
    access.require("submission.create")
    limit = resources.settings.max_submission_bytes
    check_declared_length(request, limit)
    ensure_room(resources.store, resources.settings, declared_length(request))
    received = await receive_submission(
        stream_body(request, limit),
        request.headers.get("content-type"),
        resources.store,
        max_xml_bytes=MAX_XML_PART_BYTES,
        max_file_bytes=limit,
    )
    result = await ingest_submission(
        resources, access, received, device_id=device_id, user_agent=request.headers.get("user-agent")
    )
    log.info(
        "submission stored",
        extra={
            "outcome": result.outcome,
            "submission": result.submission_id,
            "attachments": f"{result.present}/{result.expected}",
        },
    )
    return Response(
        content=documents.message(SUCCESS),
        status_code=201,
        media_type=TEXT_XML,
        headers={**_openrosa_headers(resources), "Cache-Control": "no-store"},
    )


def handle_openrosa_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Every failure on an OpenRosa path as an OpenRosaResponse Collect can show the enumerator."""
    problem = problem_for(exc)
    resources: ResourcesDep = request.app.state["resources"]
    headers = {**_openrosa_headers(resources), **problem.headers}
    if problem.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="survey", charset="UTF-8"'
    return Response(
        content=documents.message(problem.message, error=True),
        status_code=problem.status,
        media_type=TEXT_XML,
        headers=headers,
    )


router = Router(
    path="/projects/{project_id:int}",
    route_handlers=[form_list, manifest, submission_probe, submission],
    exception_handlers={Exception: handle_openrosa_exception},
    tags=["openrosa"],
)
