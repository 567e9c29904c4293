"""Translate database failures at the boundary: an unreachable server is 503, a constraint clash is a Problem."""

from __future__ import annotations

import asyncpg

from service.errors import Problem

__all__ = ["is_database_unavailable", "unavailable"]

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable socket
    TimeoutError,  # pool acquire / connect timeout
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.ReadOnlySQLTransactionError,
)


def is_database_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, _UNAVAILABLE)


def unavailable() -> Problem:
    return Problem.unavailable("database")
