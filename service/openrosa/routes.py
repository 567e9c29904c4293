"""OpenRosa endpoints at ODK Central's paths, for web users and for app users (`/v1/key/{token}/…`).

Wire rules that matter to Collect (../shared/collect.md): `X-OpenRosa-Version: 1.0` required on OpenRosa
calls; form list and manifest as `text/xml` with the OpenRosa headers; HEAD answered 204 with the advertised
size; only 201 means "sent"; absolute URLs from the public origin; no cookies; `deviceID` on every URL;
errors as an OpenRosaResponse whose <message> Collect shows the enumerator. Unlike Central, a 401 carries a
WWW-Authenticate challenge so Collect can answer it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

from litestar import Request, Response, Router, get, post, route
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from service.appusers.service import actor_for_token
from service.auth.service import authenticate, project_verbs, require
from service.errors import Problem
from service.forms import reading as forms
from service.forms.collect import forms_for_collect
from service.forms.responses import attachment_response, xml_response
from service.http import ServicesDep, is_https, problem_from_exception
from service.submissions.service import ingest_submission

from . import documents
from .multipart import receive_submission

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.auth.models import Actor

__all__ = ["key_router", "router"]

log = logging.getLogger(__name__)

# Litestar appends "; charset=utf-8" to text types itself.
TEXT_XML = "text/xml"
SUCCESS = "full submission upload was successful!"
MAX_XML_PART_BYTES = 10 * 1024 * 1024


def _openrosa_headers(services: ServicesDep) -> dict[str, str]:
    return {
        "X-OpenRosa-Version": "1.0",
        "X-OpenRosa-Accept-Content-Length": str(services.settings.openrosa_accept_content_length),
        "Content-Language": "en",
    }


def _require_openrosa_header(request: Request[Any, Any, Any]) -> None:
    value = request.headers.get("x-openrosa-version")
    if value is None or value.strip() != "1.0":
        raise Problem.invalid_header("X-OpenRosa-Version", value)


async def _actor(request: Request[Any, Any, Any], services: ServicesDep, token: str | None) -> Actor:
    if token is not None:
        async with services.pool.acquire() as conn:
            return await actor_for_token(conn, token)
    actor = await authenticate(
        services.pool,
        services.passwords,
        request.headers.get("authorization"),
        is_https=is_https(request),
        allow_basic_over_http=services.settings.allow_basic_over_http,
    )
    if actor.kind == "anonymous":
        raise Problem.authentication_required()
    return actor


def _base_url(services: ServicesDep, project_id: int, token: str | None) -> str:
    prefix = f"/v1/key/{token}" if token is not None else "/v1"
    return f"{services.settings.origin}{prefix}/projects/{project_id}"


async def _form_list(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    project_id: int,
    token: str | None,
    form_id: str | None,
) -> Response[bytes]:
    _require_openrosa_header(request)
    actor = await _actor(request, services, token)
    async with services.pool.acquire() as conn:
        listed = await forms_for_collect(conn, actor, project_id)
    if form_id is not None:
        listed = [form for form in listed if form.xml_form_id == form_id]
    return Response(
        content=documents.form_list(listed, _base_url(services, project_id, token)),
        media_type=TEXT_XML,
        # A cacheable list would make Collect's HTTP cache show stale forms.
        headers={**_openrosa_headers(services), "Cache-Control": "private, no-cache"},
    )


async def _manifest(
    request: Request[Any, Any, Any], services: ServicesDep, project_id: int, token: str | None, xml_form_id: str
) -> Response[bytes]:
    _require_openrosa_header(request)
    actor = await _actor(request, services, token)
    attachments = await forms.list_attachments(services, actor, project_id, xml_form_id)
    files = [(a.name, a.hash) for a in attachments if a.exists and a.hash]
    form_url = f"{_base_url(services, project_id, token)}/forms/{xml_form_id}"
    return Response(
        content=documents.manifest(files, form_url),
        media_type=TEXT_XML,
        headers={**_openrosa_headers(services), "Cache-Control": "private, no-cache"},
    )


async def _form_download(
    request: Request[Any, Any, Any], services: ServicesDep, project_id: int, token: str | None, name: str
) -> Response[bytes]:
    if not name.endswith(".xml"):
        raise Problem.not_found()
    actor = await _actor(request, services, token)
    xml, md5 = await forms.read_form_xml(services, actor, project_id, name[:-4])
    return xml_response(xml, md5, request)


async def _submission_probe(
    request: Request[Any, Any, Any], services: ServicesDep, project_id: int, token: str | None
) -> Response[bytes]:
    _require_openrosa_header(request)
    actor = await _actor(request, services, token)
    async with services.pool.acquire() as conn:
        require(actor, await project_verbs(conn, actor, project_id), "submission.create")
    return Response(content=b"", status_code=204, headers=_openrosa_headers(services))


class ClientDisconnected(Exception):
    """The phone went away mid-upload (3G dropped); nothing was stored, the retry will resend."""


async def _body(request: Request[Any, Any, Any], limit: int) -> AsyncIterator[bytes]:
    """The raw request body, chunk by chunk, cut off (413) past the hard limit."""
    total = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk: bytes = message.get("body", b"")  # type: ignore[assignment]
        if chunk:
            total += len(chunk)
            if total > limit:
                raise Problem.too_large(limit)
            yield chunk
        if not message.get("more_body", False):
            return


async def _submit(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    project_id: int,
    token: str | None,
    device_id: str | None,
) -> Response[bytes]:
    _require_openrosa_header(request)
    # Refuse before reading the body: a rejected 10 MB upload over 3G should cost the phone nothing.
    actor = await _actor(request, services, token)
    async with services.pool.acquire() as conn:
        require(actor, await project_verbs(conn, actor, project_id), "submission.create")
    limit = services.settings.max_submission_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem.too_large(limit)
    received = await receive_submission(
        _body(request, limit),
        request.headers.get("content-type"),
        services.store,
        max_xml_bytes=MAX_XML_PART_BYTES,
        max_file_bytes=limit,
    )
    result = await ingest_submission(
        services,
        actor,
        project_id,
        received,
        device_id=device_id,
        user_agent=request.headers.get("user-agent"),
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
        headers={**_openrosa_headers(services), "Cache-Control": "no-store"},
    )


def handle_openrosa_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Every failure on an OpenRosa path as an OpenRosaResponse Collect can show the enumerator."""
    problem: Problem | None = (
        Problem(400.1, "The upload was interrupted before it finished; please send it again.")
        if isinstance(exc, ClientDisconnected)
        else problem_from_exception(exc)
    )
    if problem is None:
        log.error("unhandled error on an OpenRosa path", exc_info=exc)
        problem = Problem(500.1, "An unknown internal problem has occurred. Please try again later.")
    elif problem.status >= 500:
        log.warning("service unavailable", extra={"reason": repr(exc.__cause__ or exc)})
    services: ServicesDep = request.app.state["services"]
    headers = {**_openrosa_headers(services), **problem.headers}
    if problem.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="survey", charset="UTF-8"'
    return Response(
        content=documents.message(problem.message, error=True),
        status_code=problem.status,
        media_type=TEXT_XML,
        headers=headers,
    )


DeviceId = Annotated[str | None, QueryParameter(name="deviceID", required=False)]
FormIdFilter = Annotated[str | None, QueryParameter(name="formID", required=False)]

# /v1/projects/{project_id}/… — web users (Basic over HTTPS, or Bearer).


@get("/formList")
async def form_list(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    project_id: FromPath[int],
    form_id: FormIdFilter = None,
) -> Response[bytes]:
    return await _form_list(request, services, project_id, None, form_id)


@get("/forms/{xml_form_id:str}/manifest")
async def manifest(
    request: Request[Any, Any, Any], services: ServicesDep, project_id: FromPath[int], xml_form_id: FromPath[str]
) -> Response[bytes]:
    return await _manifest(request, services, project_id, None, xml_form_id)


@route("/submission", http_method=["HEAD", "GET"])
async def submission_probe(
    request: Request[Any, Any, Any], services: ServicesDep, project_id: FromPath[int]
) -> Response[bytes]:
    return await _submission_probe(request, services, project_id, None)


@post("/submission", status_code=201, request_max_body_size=None)
async def submission(
    request: Request[Any, Any, Any], services: ServicesDep, project_id: FromPath[int], device_id: DeviceId = None
) -> Response[bytes]:
    return await _submit(request, services, project_id, None, device_id)


router = Router(
    path="/v1/projects/{project_id:int}",
    route_handlers=[form_list, manifest, submission_probe, submission],
    exception_handlers={Exception: handle_openrosa_exception},
    tags=["openrosa"],
)

# /v1/key/{token}/projects/{project_id}/… — app users; the token in the URL is the credential.


@get("/formList")
async def key_form_list(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    token: FromPath[str],
    project_id: FromPath[int],
    form_id: FormIdFilter = None,
) -> Response[bytes]:
    return await _form_list(request, services, project_id, token, form_id)


@get("/forms/{name:str}")
async def key_form_download(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    token: FromPath[str],
    project_id: FromPath[int],
    name: FromPath[str],
) -> Response[bytes]:
    return await _form_download(request, services, project_id, token, name)


@get("/forms/{xml_form_id:str}/manifest")
async def key_manifest(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    token: FromPath[str],
    project_id: FromPath[int],
    xml_form_id: FromPath[str],
) -> Response[bytes]:
    return await _manifest(request, services, project_id, token, xml_form_id)


@get("/forms/{xml_form_id:str}/attachments/{name:str}")
async def key_attachment(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    token: FromPath[str],
    project_id: FromPath[int],
    xml_form_id: FromPath[str],
    name: FromPath[str],
) -> Response[bytes] | Stream:
    async with services.pool.acquire() as conn:
        actor = await actor_for_token(conn, token)
    return await attachment_response(request, services, actor, project_id, xml_form_id, name, "published")


@route("/submission", http_method=["HEAD", "GET"])
async def key_submission_probe(
    request: Request[Any, Any, Any], services: ServicesDep, token: FromPath[str], project_id: FromPath[int]
) -> Response[bytes]:
    return await _submission_probe(request, services, project_id, token)


@post("/submission", status_code=201, request_max_body_size=None)
async def key_submission(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    token: FromPath[str],
    project_id: FromPath[int],
    device_id: DeviceId = None,
) -> Response[bytes]:
    return await _submit(request, services, project_id, token, device_id)


key_router = Router(
    path="/v1/key/{token:str}/projects/{project_id:int}",
    route_handlers=[
        key_form_list,
        key_form_download,
        key_manifest,
        key_attachment,
        key_submission_probe,
        key_submission,
    ],
    exception_handlers={Exception: handle_openrosa_exception},
    tags=["openrosa"],
)
