"""The asyncpg pool: one per process, opened in the app lifespan, with msgspec codecs for json/jsonb."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
import msgspec

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["Connection", "DatabaseUnreachable", "Pool", "create_pool", "transaction"]

Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def _encode_jsonb(value: Any) -> bytes:
    # Binary jsonb is a version byte (1) followed by the JSON text.
    return b"\x01" + _encode(value)


def _decode_jsonb(data: bytes) -> Any:
    return _decode(data[1:])


async def init_connection(conn: Connection) -> None:
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=_encode_jsonb, decoder=_decode_jsonb, format="binary"
    )
    await conn.set_type_codec("json", schema="pg_catalog", encoder=_encode, decoder=_decode, format="binary")


class DatabaseUnreachable(ConnectionError):
    """A new connection to PostgreSQL could not be made (refused, no such socket or host, timed out).

    Raised from the pool's connect step only, so an OSError anywhere else (a missing file, a full disk) is never
    mistaken for a database outage.
    """


async def _connect(*args: Any, **kwargs: Any) -> asyncpg.Connection[asyncpg.Record]:
    try:
        return await asyncpg.connect(*args, **kwargs)
    except OSError as exc:
        raise DatabaseUnreachable(f"cannot connect to PostgreSQL: {exc}") from exc


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> Pool:
    pool: Pool = await asyncpg.create_pool(
        dsn,
        connect=_connect,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        # Fail fast when the server is unreachable: callers turn that into 503 + Retry-After.
        timeout=5,
        command_timeout=60,
        server_settings={"application_name": "survey"},
    )
    return pool


@asynccontextmanager
async def transaction(pool: Pool) -> AsyncIterator[Connection]:
    """Acquire a connection and run the block in one transaction (committed on success)."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn
