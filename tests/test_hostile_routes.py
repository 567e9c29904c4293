"""Hostile values on every route: ids beyond 64 bits, huge numbers in the query, deeply nested JSON bodies.

Walks the routes of the real app (so a route added later is covered too) and sends each method with hostile path
parameters, query values and bodies, anonymously and as an admin. Nothing may answer 5xx.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

HUGE = "99999999999999999999"
NESTED = "[" * 200_000
QUERY = {"limit": HUGE, "offset": HUGE, "cursor": HUGE, "version": HUGE, "deviceID": HUGE, "$top": HUGE}
_PARAM = re.compile(r"\{(\w+):(\w+)\}")


def _paths(app: Litestar) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route in app.routes:
        if route.path.startswith("/docs"):
            continue
        for method in sorted(route.methods - {"OPTIONS"}):
            found.append((method, route.path))
    return found


def _fill(path: str, value: str) -> str:
    return _PARAM.sub(lambda m: value if m[2] == "int" else "x", path)


@pytest.mark.parametrize("authenticated", [False, True])
async def test_no_route_answers_5xx_to_hostile_values(
    app: Litestar, client: AsyncTestClient[Litestar], admin_headers: dict[str, str], authenticated: bool
) -> None:
    headers = admin_headers if authenticated else {}
    failures = []
    routes = _paths(app)
    assert len(routes) > 40  # the walk must see the whole API
    for method, template in routes:
        if (method, template) == ("DELETE", "/v1/sessions/current"):
            continue  # signing out is tested elsewhere; here it would end the walk's session
        for value in (HUGE, "-1", "0"):
            path = _fill(template, value)
            # A body that is refused while decoding, and one that decodes (so the path values reach the service).
            bodies = [NESTED, "{}"] if method in {"POST", "PUT", "PATCH"} else [None]
            for body in bodies:
                response = await client.request(
                    method,
                    path,
                    params=QUERY,
                    content=body,
                    headers={**headers, "Content-Type": "application/json"} if body else headers,
                )
                if response.status_code >= 500:
                    failures.append(
                        f"{method} {path} {(body or '')[:5]} -> {response.status_code} {response.text[:100]}"
                    )
    assert failures == []
    # The walk must not have signed itself out half-way (then the rest would only have met 401s).
    if authenticated:
        assert (await client.get("/v1/users/current", headers=headers)).status_code == 200
