"""HTTP routes for OData at Central's paths: /v1/projects/{p}/forms/{xmlFormId}.svc[/…].

Litestar path parameters are whole segments, so the form id and `.svc` arrive as one segment (`{svc}`), checked
here (404 without the suffix). The service document, `…/{id}.svc`, has the same shape as the forms router's
`GET /forms/{name}` (which already tells `.xml`/`.xlsx` apart by suffix), and two routes of one shape would
silently shadow each other; so that handler hands `.svc` names to `service_document` below. Everything deeper
(`…/{id}.svc/{table}` and `…/{id}.svc/Submissions('…')/…`) is routed here; the forms router's static segments
(`/versions`, `/draft`, …) still win over `{table}` for their own names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from litestar import Request, Response, Router, get
from litestar.params import FromPath
from litestar.response import Stream

from service.errors import Problem
from service.http import AccessDep, ResourcesDep, json_problem_response
from service.problems import problem_for

from . import service
from .service import ODataRequest

if TYPE_CHECKING:
    from .service import Reply

__all__ = ["odata_request", "router", "service_document"]

_ODATA_VERSION = {"OData-Version": "4.0"}


def odata_request(request: Request[Any, Any, Any], origin: str) -> ODataRequest:
    raw_path = request.scope.get("raw_path")
    # As sent (percent-encoding kept, as Central echoes it); some servers include the query in raw_path.
    path = raw_path.decode("latin-1").partition("?")[0] if raw_path else quote(request.url.path)
    return ODataRequest(
        origin=origin,
        path=path,
        query=request.scope.get("query_string", b"").decode("latin-1"),
        accept=request.headers.get("accept"),
        max_version=request.headers.get("odata-maxversion"),
        if_none_match=request.headers.get("if-none-match"),
    )


def _respond(reply: Reply) -> Response[bytes] | Stream:
    headers = {**_ODATA_VERSION, **reply.headers}
    if isinstance(reply.body, bytes):
        return Response(content=reply.body, status_code=reply.status, media_type=reply.media_type, headers=headers)
    return Stream(reply.body, status_code=reply.status, media_type=reply.media_type, headers=headers)


def _form_id(svc: str) -> str:
    if not svc.endswith(".svc") or len(svc) == 4:
        raise Problem.not_found()
    return svc[:-4]


async def service_document(
    request: Request[Any, Any, Any], resources: ResourcesDep, access: AccessDep, svc: str
) -> Response[bytes] | Stream:
    """`GET …/forms/{id}.svc`, reached through the forms router (see the module docstring)."""
    odata = odata_request(request, resources.settings.origin)
    return _respond(await service.service_document(resources, access, _form_id(svc), odata))


@get("/{svc:str}/{table:str}")
async def odata_table(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    svc: FromPath[str],
    table: FromPath[str],
) -> Response[bytes] | Stream:
    """`$metadata`, a table (`Submissions`, `Submissions.<repeat>`), or one household (`Submissions('…')`)."""
    odata = odata_request(request, resources.settings.origin)
    xml_form_id = _form_id(svc)
    if table == "$metadata":
        return _respond(await service.metadata(resources, access, xml_form_id, odata))
    return _respond(await service.table(resources, access, xml_form_id, table, "", odata))


@get("/{svc:str}/{table:str}/{navigation:path}")
async def odata_navigation(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    svc: FromPath[str],
    table: FromPath[str],
    navigation: FromPath[str],
) -> Response[bytes] | Stream:
    """One household's repeat rows: `Submissions('…')/group/repeat('…')/repeat`."""
    odata = odata_request(request, resources.settings.origin)
    return _respond(await service.table(resources, access, _form_id(svc), table, navigation, odata))


def _xml_error(problem: Problem) -> bytes:
    details = escape(str(problem.details or ""))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<error code="{problem.code}">\n'
        f"  <message>{escape(problem.message)}</message>\n  <details>{details}</details>\n</error>"
    ).encode()


def handle_odata_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Problems as JSON, except on $metadata: XML there, as Central answers its XML endpoint."""
    problem = problem_for(exc)
    if not request.url.path.endswith("/$metadata"):
        response = json_problem_response(problem)
        response.headers.update(_ODATA_VERSION)
        return response
    return Response(
        content=_xml_error(problem),
        status_code=problem.status,
        media_type="text/xml",
        headers={**_ODATA_VERSION, **problem.headers},
    )


router = Router(
    path="/projects/{project_id:int}/forms",
    route_handlers=[odata_table, odata_navigation],
    exception_handlers={Exception: handle_odata_exception},
    tags=["odata"],
)
