"""Database failures translated once, at the boundary: SQLSTATEs and constraint names → Problems.

    unreachable, shut down, too many connections, read-only  → 503 (nothing was written; try again)
    disk full / out of resources                              → 507 (refused; nothing half-written)
    unique violation                                          → 409.3, or a precise code for named constraints
    foreign key violation (a referenced row is missing)       → 400.14
    check or not-null violation (a value breaks a rule)       → 400.8 / 400.2
    anything else                                             → None: a bug, answered 500 and logged

Services never catch asyncpg errors themselves: a clash raised inside `async with conn.transaction()` rolls the
transaction back on its way out, and service/problems.py turns it into the Problem below.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import asyncpg

from service.errors import Problem

from .pool import DatabaseUnreachable

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["is_database_unavailable", "problem_for_database_error"]

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    DatabaseUnreachable,  # a new connection failed (pool.py wraps every OSError of connecting in it)
    ConnectionError,  # an open connection was reset or broke
    TimeoutError,  # pool acquire / connect timeout
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.ReadOnlySQLTransactionError,
)
_OUT_OF_SPACE: tuple[type[BaseException], ...] = (asyncpg.DiskFullError, asyncpg.InsufficientResourcesError)

# "Key (project_id, xml_form_id)=(1, household) already exists."
_KEY_DETAIL = re.compile(r"^Key \((?P<fields>.+)\)=\((?P<values>.*)\) already exists\.$", re.DOTALL)
# 'Key (parent_code)=(999) is not present in table "areas".'
_MISSING_DETAIL = re.compile(
    r'^Key \((?P<fields>.+)\)=\((?P<values>.*)\) is not present in table "(?P<table>[^"]+)"\.$', re.DOTALL
)


def _camel(snake: str) -> str:
    head, *rest = snake.strip().split("_")
    return head + "".join(part.title() for part in rest)


def _key(exc: asyncpg.UniqueViolationError) -> tuple[str, str]:
    match = _KEY_DETAIL.match(exc.detail or "")
    if match is None:
        return "(unknown)", "(unknown)"
    fields = ", ".join(_camel(field) for field in match["fields"].split(","))
    return fields, match["values"]


def _version_clash(exc: asyncpg.UniqueViolationError) -> Problem:
    _, values = _key(exc)
    return Problem.version_conflict(values.rpartition(", ")[2])


# Unique constraints whose clash deserves a more precise Problem than the generic 409.3.
_UNIQUE: dict[str, Callable[[asyncpg.UniqueViolationError], Problem]] = {
    "form_versions_published_version_key": _version_clash,
}


def is_database_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, _UNAVAILABLE)


def problem_for_database_error(exc: BaseException) -> Problem | None:
    if is_database_unavailable(exc):
        return Problem.unavailable("database")
    if isinstance(exc, _OUT_OF_SPACE):
        return Problem.insufficient_storage("database")
    if isinstance(exc, asyncpg.UniqueViolationError):
        precise = _UNIQUE.get(exc.constraint_name or "")
        return precise(exc) if precise else Problem.already_exists(*_key(exc))
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        missing = _MISSING_DETAIL.match(exc.detail or "")
        if missing is None:
            return Problem.key_does_not_exist("(unknown)", "(unknown)", exc.table_name or "(unknown)")
        fields = ", ".join(_camel(field) for field in missing["fields"].split(","))
        return Problem.key_does_not_exist(fields, missing["values"], missing["table"])
    if isinstance(exc, asyncpg.CheckViolationError):
        return Problem.unexpected_value(exc.table_name or "record", f"it breaks the rule {exc.constraint_name}")
    if isinstance(exc, asyncpg.NotNullViolationError):
        return Problem.missing_parameter(_camel(exc.column_name or "value"))
    return None
