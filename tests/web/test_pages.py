"""The review site over HTTP (no browser): sign-in and its CSRF token, the pages a commune supervisor sees, the scope
on every page, CSRF on every form, the throttle's 429 page, and the cookie not reaching the JSON API."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.web.conftest import PASSWORD

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.web.conftest import Site

_TOKEN = re.compile(r'name="(?:token|csrf)" value="([^"]+)"')


async def sign_in(client: AsyncTestClient[Litestar], email: str, password: str = PASSWORD) -> str:
    """Signs the client in through the form; returns the session's CSRF token (from the next page's forms)."""
    form = await client.get("/review/sign-in")
    assert form.status_code == 200, form.text
    token = _TOKEN.search(form.text)
    assert token is not None
    done = await client.post(
        "/review/sign-in",
        data={"email": email, "password": password, "token": token.group(1), "next": "/review/"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    home = await client.get("/review/")
    assert home.status_code == 200, home.text
    csrf = _TOKEN.search(home.text)
    assert csrf is not None
    return csrf.group(1)


async def test_a_commune_supervisor_reviews_a_household(client: AsyncTestClient[Litestar], site: Site) -> None:
    await sign_in(client, "ward@example.org")
    queue = await client.get(site.page("/queue"))
    assert queue.status_code == 200, queue.text
    mine = site.households["19750"]
    for instance in mine:
        assert site.titles[instance] in queue.text
    for other in site.households["19753"] + site.households["20044"]:
        assert site.titles[other] not in queue.text
    page = await client.get(site.page(f"/households/{mine[0]}"))
    assert page.status_code == 200, page.text
    assert "Ảnh mặt trước toàn bộ nhà" in page.text


async def test_debug_dump(client: AsyncTestClient[Litestar], site: Site) -> None:
    await sign_in(client, "district@example.org")
    from pathlib import Path

    Path("/tmp/web-tmp/queue.html").write_text((await client.get(site.page("/queue"))).text)
    Path("/tmp/web-tmp/household.html").write_text(
        (await client.get(site.page(f"/households/{site.households['19750'][0]}"))).text
    )
    Path("/tmp/web-tmp/summary.html").write_text((await client.get(site.page("/summary"))).text)
