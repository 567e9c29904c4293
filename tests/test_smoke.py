"""The app starts against a real database and answers its probes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient


async def test_health_and_readiness(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert (body["status"], body["database"], body["media"]) == ("ok", "ok", "ok")
    assert body["mediaFreeBytes"] > body["mediaMinFreeBytes"] > 0
    assert ready.headers.get("x-request-id", True)


async def test_openapi_document(client: AsyncTestClient[Litestar]) -> None:
    schema = (await client.get("/docs/openapi.json")).json()
    assert "/v1/projects" in schema["paths"]
