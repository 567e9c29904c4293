"""HTTP plumbing shared by every router: dependencies (resources, actor, access) and the JSON error writer.

Routes stay thin: they decode, take `resources` and `access` (or `actor`) from here, call one service function and
encode. Every failure is rendered from the Problem that service/problems.py resolves it to.

    resources   the process's Resources (app state)
    actor       who is calling: from the Authorization header; under /v1/key/{token} the app user the token names
    access      the actor's Access to the project in the path (`project_id`), resolved once per request
    api_prefix  `/v1` or `/v1/key/{token}`: how the caller reached the API, for absolute URLs given back to it

The project-scoped routers are registered twice (app.py): under `/v1` with `header_auth()`, and under
`/v1/key/{token}` with `token_auth()`; one handler set serves both.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.datastructures import State  # noqa: TC002
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, PathParameter, SkipValidation  # noqa: TC002 - read in provider signatures

from service.appusers.service import actor_for_token
from service.auth.access import MAX_ID, Access, resolve_access
from service.auth.models import Actor
from service.auth.service import authenticate
from service.errors import Problem
from service.problems import problem_for
from service.resources import Resources

__all__ = [
    "AccessDep",
    "ApiRequest",
    "ApiPrefixDep",
    "PathId",
    "ActorDep",
    "ResourcesDep",
    "client_address",
    "dependencies",
    "header_auth",
    "token_auth",
    "handle_exception",
    "is_https",
    "json_problem_response",
]

_encode = msgspec.json.Encoder().encode

# How handlers ask for them (named dependencies, not validated).
ResourcesDep = NamedDependency[SkipValidation[Resources]]
ActorDep = NamedDependency[SkipValidation[Actor]]
AccessDep = NamedDependency[SkipValidation[Access]]
ApiPrefixDep = NamedDependency[str]

# Every integer id in a path: a bigint column holds it, so anything outside 1..2^63-1 names nothing and is refused
# (400) before it reaches a query. tests/test_hostile_routes.py walks every route with such values.
PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]


class ApiRequest(Request[Any, Any, Any]):
    """Litestar's Request, but a JSON body nested too deeply to decode is the client's mistake (400), not ours."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise Problem.unparseable("JSON", "it is nested too deeply") from None


def _peer(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


def is_https(request: Request[Any, Any, Any]) -> bool:
    """Over TLS, directly or through a trusted proxy that says so in X-Forwarded-Proto (forwarded.py)."""
    resources: Resources = request.app.state["resources"]
    return resources.proxies.is_https(_peer(request), request.url.scheme, request.headers.get("x-forwarded-proto"))


def client_address(request: Request[Any, Any, Any]) -> str:
    """The client's address, through trusted proxies only (forwarded.py)."""
    resources: Resources = request.app.state["resources"]
    return resources.proxies.client(_peer(request), request.headers.get("x-forwarded-for"))


def _resources(state: State) -> Resources:
    resources: Resources = state["resources"]
    return resources


async def _actor(request: Request[Any, Any, Any], resources: ResourcesDep) -> Actor:
    return await authenticate(
        resources,
        request.headers.get("authorization"),
        is_https=is_https(request),
        client=client_address(request),
    )


async def _token_actor(resources: ResourcesDep, token: FromPath[str]) -> Actor:
    async with resources.pool.acquire() as conn:
        return await actor_for_token(conn, token)


async def _access(resources: ResourcesDep, actor: ActorDep, project_id: PathId) -> Access:
    async with resources.pool.acquire() as conn:
        return await resolve_access(conn, actor, project_id)


def _v1_prefix() -> str:
    return "/v1"


def _key_prefix(token: FromPath[str]) -> str:
    return f"/v1/key/{token}"


def dependencies() -> dict[str, Provide]:
    """App-wide: resources, the caller from the Authorization header, and its access to the project in the path."""
    return {
        "resources": Provide(_resources, sync_to_thread=False),
        "actor": Provide(_actor),
        "access": Provide(_access),
    }


def header_auth() -> dict[str, Provide]:
    """For the routers under /v1: the caller is who the Authorization header says."""
    return {"api_prefix": Provide(_v1_prefix, sync_to_thread=False)}


def token_auth() -> dict[str, Provide]:
    """For the routers under /v1/key/{token}: the caller is the app user whose token is in the URL."""
    return {"actor": Provide(_token_actor), "api_prefix": Provide(_key_prefix, sync_to_thread=False)}


def json_problem_response(problem: Problem) -> Response[bytes]:
    body: dict[str, Any] = {"code": problem.code, "message": problem.message}
    if problem.details:
        body["details"] = problem.details
    headers = dict(problem.headers)
    if problem.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="survey"')
    return Response(content=_encode(body), status_code=problem.status, media_type="application/json", headers=headers)


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    return json_problem_response(problem_for(exc))
