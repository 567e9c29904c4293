"""HTTP plumbing shared by every router: the per-process services, dependencies and the JSON error writer.

Routes stay thin: they decode, take `services` and `actor` from here, call one service function and encode.
Every failure is rendered from a Problem; anything unexpected is logged and becomes a 500 without details.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response  # noqa: TC002 - Litestar reads provider signatures at runtime
from litestar.datastructures import State  # noqa: TC002
from litestar.di import NamedDependency, Provide
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.params import SkipValidation

from service.auth.models import Actor
from service.auth.service import authenticate
from service.db.errors import is_database_unavailable
from service.errors import Problem
from service.media.store import StoreUnavailable, TooLarge

if TYPE_CHECKING:
    from service.auth.passwords import Passwords
    from service.db.pool import Pool
    from service.forms.convert import FormConverter
    from service.media.store import MediaStore
    from service.settings import Settings

__all__ = [
    "ActorDep",
    "Services",
    "ServicesDep",
    "dependencies",
    "handle_exception",
    "is_https",
    "problem_from_exception",
    "problem_response",
]

log = logging.getLogger(__name__)
_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class Services:
    """Long-lived resources of one process, created in the lifespan and shared by all requests."""

    settings: Settings
    pool: Pool
    store: MediaStore
    passwords: Passwords
    converter: FormConverter


# How handlers ask for the per-process services and the caller (named dependencies, not validated).
ServicesDep = NamedDependency[SkipValidation[Services]]
ActorDep = NamedDependency[SkipValidation[Actor]]


def is_https(request: Request[Any, Any, Any]) -> bool:
    # Behind a TLS-terminating proxy the scheme arrives in X-Forwarded-Proto (as ODK Central trusts it).
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip().lower() == "https"


def _services(state: State) -> Services:
    services: Services = state["services"]
    return services


async def _actor(request: Request[Any, Any, Any], services: ServicesDep) -> Actor:
    return await authenticate(
        services.pool,
        services.passwords,
        request.headers.get("authorization"),
        is_https=is_https(request),
        allow_basic_over_http=services.settings.allow_basic_over_http,
    )


def dependencies() -> dict[str, Provide]:
    return {
        "services": Provide(_services, sync_to_thread=False),
        "actor": Provide(_actor),
    }


def problem_from_exception(exc: BaseException) -> Problem | None:
    """The Problem an exception stands for, or None when it is a bug (a 500)."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, TooLarge):
        return Problem.too_large(exc.limit)
    if isinstance(exc, StoreUnavailable):
        return Problem.unavailable("media store")
    if is_database_unavailable(exc):
        return Problem.unavailable("database")
    if isinstance(exc, NotFoundException):
        return Problem.not_found()
    if isinstance(exc, MethodNotAllowedException):
        return Problem(405.1, "This method is not allowed on this resource.")
    if isinstance(exc, ValidationException):
        return Problem(400.1, f"The request could not be understood: {exc.detail}", _validation_details(exc))
    if isinstance(exc, HTTPException):
        if exc.status_code == 413:
            return Problem(413.1, "The request is larger than this server accepts.")
        if exc.status_code < 500:
            return Problem(float(exc.status_code), exc.detail or "The request was refused.")
    return None


def _validation_details(exc: ValidationException) -> dict[str, Any] | None:
    extra = exc.extra
    if isinstance(extra, list) and extra:
        return {"errors": [{"key": e.get("key"), "message": e.get("message")} for e in extra if isinstance(e, dict)]}
    return None


def problem_response(problem: Problem) -> Response[bytes]:
    body: dict[str, Any] = {"code": problem.code, "message": problem.message}
    if problem.details:
        body["details"] = problem.details
    headers = dict(problem.headers)
    if problem.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="survey"')
    return Response(content=_encode(body), status_code=problem.status, media_type="application/json", headers=headers)


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    problem = problem_from_exception(exc)
    if problem is None:
        log.error("unhandled error", extra={"method": request.method}, exc_info=exc)
        problem = Problem(500.1, "An unknown internal problem has occurred. Please try again later.")
    elif problem.status >= 500:
        log.warning("service unavailable", extra={"reason": repr(exc.__cause__ or exc)})
    return problem_response(problem)
