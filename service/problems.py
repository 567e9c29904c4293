"""The one resolver from an exception to the Problem it stands for; every surface renders from it.

JSON under /v1 (http.py), the OpenRosaResponse Collect shows its user (openrosa/documents.py) and, later, HTML
pages all call `problem_for(exc)`; none of them inspects exception types itself.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException, ValidationException

from service.bodies import ClientDisconnected
from service.db.errors import problem_for_database_error
from service.errors import Problem
from service.media.store import StoreFull, StoreUnavailable, TooLarge

__all__ = ["is_refusal", "problem_for"]

log = logging.getLogger(__name__)


def problem_for(exc: BaseException) -> Problem:
    """The Problem to answer with. Unexpected exceptions are logged with their traceback and become a bare 500."""
    problem = _translate(exc)
    if problem is None:
        log.error("unhandled error", exc_info=exc)
        return Problem.internal()
    if problem.status == 507:
        log.error("out of space", extra={"reason": repr(exc.__cause__ or exc)})
    elif problem.status >= 500:
        log.warning("service unavailable", extra={"reason": repr(exc.__cause__ or exc)})
    return problem


def is_refusal(exc: BaseException) -> bool:
    """A 4xx: the request was refused for good (a retry of it would be refused again), not a passing outage."""
    problem = _translate(exc)
    return problem is not None and problem.status < 500


def _translate(exc: BaseException) -> Problem | None:
    if isinstance(exc, Problem):
        return exc
    if (ours := _from_our_boundaries(exc)) is not None:
        return ours
    return _from_the_framework(exc)


def _from_our_boundaries(exc: BaseException) -> Problem | None:
    if isinstance(exc, TooLarge):
        return Problem.too_large(exc.limit)
    if isinstance(exc, ClientDisconnected):
        return Problem.upload_interrupted()
    if isinstance(exc, StoreFull):
        return Problem.insufficient_storage("media store")
    if isinstance(exc, StoreUnavailable):
        return Problem.unavailable("media store")
    return problem_for_database_error(exc)


def _from_the_framework(exc: BaseException) -> Problem | None:
    if isinstance(exc, NotFoundException):
        return Problem.not_found()
    if isinstance(exc, MethodNotAllowedException):
        return Problem.method_not_allowed()
    if isinstance(exc, ValidationException):
        return Problem.not_understood(str(exc.detail), _validation_details(exc))
    if isinstance(exc, HTTPException):
        if exc.status_code == 413:
            return Problem.request_too_large()
        if exc.status_code < 500:
            return Problem.refused(exc.status_code, exc.detail)
    return None


def _validation_details(exc: ValidationException) -> dict[str, Any] | None:
    extra = exc.extra
    if isinstance(extra, list) and extra:
        return {"errors": [{"key": e.get("key"), "message": e.get("message")} for e in extra if isinstance(e, dict)]}
    return None
