"""Liveness and readiness probes.

/healthz answers as long as the process serves HTTP; /readyz also checks PostgreSQL and the media store, so a
load balancer stops sending traffic (and phones get 503 + Retry-After elsewhere) while either is down.
"""

from __future__ import annotations

import asyncio

from litestar import Response, Router, get

from service.db.errors import is_database_unavailable
from service.http import ResourcesDep
from service.media.store import StoreUnavailable

__all__ = ["router"]


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", include_in_schema=False)
async def readyz(resources: ResourcesDep) -> Response[dict[str, str]]:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(3):
            async with resources.pool.acquire() as conn:
                await conn.fetchval("select 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the type is reported
        checks["database"] = "unavailable" if is_database_unavailable(exc) else type(exc).__name__
    try:
        async with asyncio.timeout(3):
            await resources.store.check()
        checks["media"] = "ok"
    except (StoreUnavailable, TimeoutError) as exc:
        checks["media"] = f"unavailable: {exc}"[:200]
    ready = all(value == "ok" for value in checks.values())
    return Response(
        content={"status": "ok" if ready else "unavailable", **checks},
        status_code=200 if ready else 503,
        headers={} if ready else {"Retry-After": "10"},
    )


router = Router(path="/", route_handlers=[healthz, readyz], tags=["operations"])
