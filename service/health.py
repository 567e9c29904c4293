"""Liveness and readiness probes.

/healthz answers as long as the process serves HTTP; /readyz also checks PostgreSQL and the media store, and the
free space on the media store's disk, so a load balancer stops sending traffic (and phones get 503 + Retry-After
or 507 elsewhere) while either is down or the disk is nearly full.
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
async def readyz(resources: ResourcesDep) -> Response[dict[str, str | int]]:
    checks: dict[str, str | int] = {}
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
    if checks["media"] == "ok":
        free, minimum = resources.store.free_bytes(), resources.settings.media_min_free_bytes
        checks["mediaFreeBytes"] = free
        checks["mediaMinFreeBytes"] = minimum
        if free < minimum:
            checks["media"] = "nearly full: uploads are refused until space is freed"
    ready = checks["database"] == "ok" and checks["media"] == "ok"
    return Response(
        content={"status": "ok" if ready else "unavailable", **checks},
        status_code=200 if ready else 503,
        headers={} if ready else {"Retry-After": "10"},
    )


router = Router(path="/", route_handlers=[healthz, readyz], tags=["operations"])
