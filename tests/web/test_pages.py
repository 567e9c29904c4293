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
    # The server's classification beside the phone's provisional one.
    assert "Phân loại (máy chủ tính)" in page.text
    assert "Phân loại sơ bộ" in page.text


async def test_pages_speak_the_reader_s_language(client: AsyncTestClient[Litestar], site: Site) -> None:
    english = await client.get("/review/sign-in", headers={"Accept-Language": "en-GB,en;q=0.9,vi;q=0.5"})
    assert '<html lang="en">' in english.text
    assert ">Sign in<" in english.text
    vietnamese = await client.get("/review/sign-in", headers={"Accept-Language": "fr, vi;q=0.8, en;q=0.7"})
    assert '<html lang="vi">' in vietnamese.text
    assert '<html lang="en">' in (await client.get("/review/sign-in?lang=en")).text
    switched = await client.get("/review/language?to=en&next=/review/sign-in", follow_redirects=False)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/review/sign-in"
    assert "lang=en" in switched.headers["set-cookie"]
    assert '<html lang="en">' in (await client.get("/review/sign-in")).text
    # The language switch goes back only to a page of this site.
    for elsewhere in ("https://example.com/", "//example.com/review", "/v1/users", "/review\\..\\x"):
        away = await client.get("/review/language", params={"to": "vi", "next": elsewhere}, follow_redirects=False)
        assert away.headers["location"] == "/review/", elsewhere


async def test_pages_are_not_cached_and_load_nothing_from_elsewhere(
    client: AsyncTestClient[Litestar], site: Site
) -> None:
    await sign_in(client, "manager@example.org")
    page = await client.get(site.page("/queue"))
    assert page.headers["cache-control"] == "no-store"
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self'" in policy
    assert "http" not in re.sub(r'href="/[^"]*"|src="/[^"]*"|action="/[^"]*"', "", page.text).replace("http-equiv", "")
    assets = re.findall(r'(?:href|src)="(/review/static/[^"]+)"', page.text)
    assert len(assets) == 3
    for asset in assets:
        assert re.fullmatch(r"/review/static/(app|icon)\.[0-9a-f]{12}\.(css|js|svg)", asset), asset
        served = await client.get(asset)
        assert served.status_code == 200
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (await client.get("/review/static/app.000000000000.css")).status_code == 404


async def test_a_missing_page_or_a_wrong_method_is_a_page(client: AsyncTestClient[Litestar], site: Site) -> None:
    await sign_in(client, "ward@example.org")
    for path in ("/review/nothing-here", site.page("/households/uuid:nobody"), "/review/projects/999/forms/x/queue"):
        missing = await client.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"].startswith("text/html")
        assert "Không tìm thấy" in missing.text
    wrong = await client.put(site.page("/queue"))
    assert wrong.status_code == 405
    assert wrong.headers["content-type"].startswith("text/html")
    bad_date = await client.get(site.page("/queue?since=yesterday"))
    assert bad_date.status_code == 400
    assert "YYYY-MM-DD" in bad_date.text
    root = await client.get("/", follow_redirects=False)
    assert (root.status_code, root.headers["location"]) == (303, "/review/")
    # The API keeps answering JSON.
    api = await client.get("/v1/nothing-here")
    assert api.headers["content-type"].startswith("application/json")


async def test_signed_out_visitors_are_sent_to_sign_in_and_back(client: AsyncTestClient[Litestar], site: Site) -> None:
    queue = site.page("/queue?state=received")
    sent = await client.get(queue, follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"] == "/review/sign-in?next=" + queue.replace("/", "%2F").replace("?", "%3F").replace(
        "=", "%3D"
    )
    form = await client.get(sent.headers["location"])
    token = _TOKEN.search(form.text)
    assert token is not None
    assert f'name="next" value="{queue}"' in form.text
    done = await client.post(
        "/review/sign-in",
        data={"email": "ward@example.org", "password": PASSWORD, "token": token.group(1), "next": queue},
        follow_redirects=False,
    )
    assert done.headers["location"] == queue
    # A `next` off the site is ignored.
    csrf = _TOKEN.search((await client.get(queue)).text)
    assert csrf is not None
    await client.post("/review/sign-out", data={"csrf": csrf.group(1)})
    form = await client.get("/review/sign-in")
    token = _TOKEN.search(form.text)
    assert token is not None
    away = await client.post(
        "/review/sign-in",
        data={"email": "ward@example.org", "password": PASSWORD, "token": token.group(1), "next": "//evil.example"},
        follow_redirects=False,
    )
    assert away.headers["location"] == "/review/"


async def test_a_viewer_reads_and_comments_but_does_not_decide(client: AsyncTestClient[Litestar], site: Site) -> None:
    csrf = await sign_in(client, "viewer@example.org")
    instance = site.households["19750"][0]
    page = await client.get(site.page(f"/households/{instance}"))
    assert page.status_code == 200
    assert 'name="decision"' not in page.text
    assert "Bạn chỉ được xem" in page.text
    queue = await client.get(site.page("/queue"))
    assert 'name="instance"' not in queue.text  # no bulk form either
    refused = await client.post(
        site.page(f"/households/{instance}/decision"), data={"csrf": csrf, "decision": "approved"}
    )
    assert refused.status_code == 403
    commented = await client.post(
        site.page(f"/households/{instance}/comments"),
        data={"csrf": csrf, "body": "Cần xác minh lại mái nhà"},
        follow_redirects=False,
    )
    assert commented.status_code == 303
    shown = await client.get(commented.headers["location"])
    assert "Cần xác minh lại mái nhà" in shown.text
    assert "Đã gửi trao đổi." in shown.text


async def test_a_form_without_the_example_s_answers_lists_them_all(
    client: AsyncTestClient[Litestar], site: Site
) -> None:
    await sign_in(client, "manager@example.org")
    instance = site.world.households["19750"][0]
    page = await client.get(f"/review/projects/{site.project}/forms/located/households/{instance}")
    assert page.status_code == 200, page.text
    assert "Thông tin chính" not in page.text  # no key answers for this form
    assert '<details class="more" open>' in page.text
    assert "<dt>Chủ hộ</dt><dd>Hộ 19750</dd>" in page.text
    assert "Hộ này không có ảnh." in page.text
    assert "Hộ này không có tọa độ GPS." in page.text


async def test_over_https_the_cookie_is_secure_and_host_only(app: Litestar, site: Site) -> None:
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app, base_url="https://review.example") as secure:
        form = await secure.get("/review/sign-in")
        assert "__Host-review_sign_in=" in form.headers["set-cookie"]
        assert "Secure" in form.headers["set-cookie"]
        token = _TOKEN.search(form.text)
        assert token is not None
        done = await secure.post(
            "/review/sign-in",
            data={"email": "ward@example.org", "password": PASSWORD, "token": token.group(1)},
            follow_redirects=False,
        )
        cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith("__Host-review_session="))
        assert all(part in cookie for part in ("Secure", "HttpOnly", "Path=/", "SameSite=lax"))
        assert "Domain" not in cookie
        assert (await secure.get(site.page("/queue"))).status_code == 200


async def test_a_refused_sign_in_keeps_where_it_was_going(client: AsyncTestClient[Litestar], site: Site) -> None:
    queue = site.page("/queue")
    form = await client.get(f"/review/sign-in?next={queue}")
    token = _TOKEN.search(form.text)
    assert token is not None
    refused = await client.post(
        f"/review/sign-in?next={queue}",
        data={"email": "ward@example.org", "password": "wrong", "token": token.group(1), "next": queue},
    )
    assert refused.status_code == 401
    assert "Sai thư điện tử hoặc mật khẩu." in refused.text
    assert f'name="next" value="{queue}"' in refused.text
