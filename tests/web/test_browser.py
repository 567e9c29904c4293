"""The review site in a real headless Chromium against the real server process (uvicorn, cookies, redirects).

A commune supervisor on a 360 x 740 phone signs in, works the queue, opens a household, enlarges a photo, rejects it
with a reason; a household of another commune is invisible on every page and endpoint. CSRF tokens, the sign-in
throttle's 429 page, the cookie's reach (not /v1), bulk decisions with undo, the area summary, page weights and the
API docs page without any outside request. One browser for the module; one server per test (each test has its own
database).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from service.settings import Settings
from tests.review.conftest import fetch
from tests.support.server import live_server
from tests.web.browser import PHONE, BrowserThread, Traffic, add_to_artifact, save_artifact
from tests.web.conftest import PASSWORD

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from playwright.sync_api import Browser, BrowserContext, Page

    from service.resources import Resources
    from tests.support.server import LiveServer
    from tests.web.conftest import EvidenceSite, Site

MAX_PAGE_BYTES = 300 * 1024
TODAY = Settings().local_today()


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserThread]:
    chromium = BrowserThread()
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def server(site: Site, settings: Settings, tmp_path: Path) -> Iterator[LiveServer]:
    """The real server on the test's database and media folder (so it sees the site's households and photos)."""
    assert settings.database_url is not None
    with live_server(
        database_url=settings.database_url, tmp_path=tmp_path, env={"ADMIN_EMAIL": "root@example.org"}
    ) as running:
        yield running


def _sign_in(page: Page, origin: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{origin}/review/")
    assert "/review/sign-in" in page.url
    page.get_by_label(re.compile("Thư điện tử|Email")).fill(email)
    page.get_by_label(re.compile("Mật khẩu|Password")).fill(password)
    page.get_by_role("button", name=re.compile("^(Đăng nhập|Sign in)$")).click()
    page.wait_for_url(re.compile(r"/review/?$"))


def _csrf(page: Page) -> str:
    value = page.locator("input[name=csrf]").first.get_attribute("value")
    assert value
    return value


def _photo_loaded(page: Page, index: int) -> bool:
    image = page.locator("ul.photos img").nth(index)
    image.scroll_into_view_if_needed()
    loaded: bool = image.evaluate("img => img.complete && img.naturalWidth > 0")
    return loaded


async def test_a_commune_supervisor_on_a_phone(
    browser: BrowserThread, server: LiveServer, site: Site, resources: Resources
) -> None:
    origin = server.url
    mine, other_commune = site.households["19750"], site.households["19753"][0]
    other_district = site.households["20044"][0]
    first = mine[0]
    [other_photo] = await fetch(
        resources,
        "select a.name from submission_attachments a"
        " join submissions s on s.current_version_id = a.submission_version_id"
        " where s.instance_id = $1 order by a.name limit 1",
        other_commune,
    )

    def steps(chromium: Browser) -> dict[str, Any]:
        context = chromium.new_context(**PHONE, locale="vi-VN")
        traffic = Traffic(context, origin)
        page = context.new_page()
        weights: dict[str, Any] = {}
        _sign_in(page, origin, "ward@example.org")

        # The queue: oldest first, only the supervisor's commune, counts per state.
        page.get_by_role("link", name="Danh sách hộ").first.click()
        page.wait_for_url(re.compile("/queue"))
        items = page.locator("ol.queue li a .title")
        assert items.all_inner_texts() == [site.titles[i] for i in mine]
        body = page.content()
        for hidden in (other_commune, other_district):
            assert site.titles[hidden] not in body
        assert page.locator(".counts a").first.inner_text().endswith("3")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing sticks out sideways
        save_artifact("queue-page.png", page.screenshot(full_page=True))

        # A household: photos first, each one loaded; tap to enlarge.
        items.first.click()
        page.wait_for_url(re.compile("/households/"))
        assert page.locator("h1").inner_text() == site.titles[first]
        assert page.locator("ul.photos img").count() == 3
        assert all(_photo_loaded(page, i) for i in range(3))
        assert page.locator("ul.photos figcaption").all_inner_texts()[0] == "Ảnh mặt trước toàn bộ nhà"
        assert page.locator("svg circle.accuracy").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.locator("a.enlarge").first.click()
        dialog = page.locator("dialog#lightbox")
        dialog.wait_for(state="visible")
        assert dialog.locator("img").evaluate("img => img.naturalWidth > 0")
        dialog.get_by_role("button", name="Đóng").click()
        dialog.wait_for(state="hidden")
        page.evaluate("window.scrollTo(0, 0)")
        save_artifact("review-page.png", page.screenshot(full_page=True))

        # Reject it with a reason: a rejection without one is stopped in the page first.
        page.get_by_role("button", name="Từ chối").click()
        assert page.url.endswith(first.replace(":", "%3A"))
        page.get_by_label("Lý do (bắt buộc khi có vấn đề hoặc từ chối)").select_option("photo_not_this_house")
        page.get_by_label("Ghi chú").fill("Ảnh chụp nhà hàng xóm")
        page.get_by_role("button", name="Từ chối").click()
        page.wait_for_url(re.compile(re.escape(mine[1].replace(":", "%3A"))))
        assert "Từ chối" in page.locator(".notice").inner_text()

        # Another commune's household: not on any page, not at any address.
        other = site.page(f"/households/{other_commune}")
        for url in (f"{origin}{other}", f"{origin}{site.page(f'/households/{other_district}')}"):
            response = page.goto(url)
            assert response is not None
            assert response.status == 404
            assert "không thuộc địa bàn của bạn" in page.content()
        photo = context.request.get(f"{origin}{other}/photos/{other_photo['name']}")
        assert photo.status == 404
        own_photo = page.goto(f"{origin}{site.page(f'/households/{first}')}")
        assert own_photo is not None
        assert own_photo.status == 200
        csrf = _csrf(page)
        refused = context.request.post(
            f"{origin}{other}/decision", form={"csrf": csrf, "decision": "approved"}, max_redirects=0
        )
        assert refused.status == 404
        queue = context.request.get(f"{origin}{site.page('/queue')}?commune=19753")
        assert queue.status == 403  # an area outside the scope is refused outright

        page.goto(f"{origin}{site.page('/summary')}")
        rows = page.locator("table.summary tbody tr")
        codes = [rows.nth(i).get_attribute("data-area") for i in range(rows.count())]
        assert codes == [None, "474", "19750"]
        save_artifact("summary-page.png", page.screenshot(full_page=True))
        total = rows.first.locator("td").all_inner_texts()
        assert total == ["3", "0", "1", "0", "2", "0"]

        # Every page weighs under 300 KB before photos (empty cache each time), and nothing came from elsewhere.
        for name, path in (
            ("sign-in", "/review/sign-in"),
            ("home", "/review/"),
            ("queue", site.page("/queue")),
            ("household", site.page(f"/households/{mine[1]}")),
            ("summary", site.page("/summary")),
        ):
            fresh = chromium.new_context(**PHONE, storage_state=context.storage_state())
            fresh_traffic = Traffic(fresh, origin)
            before_photos, by_type = fresh_traffic.weigh(fresh.new_page(), f"{origin}{path}")
            weights[name] = {"beforePhotos": before_photos, "byType": by_type}
            assert fresh_traffic.elsewhere() == []
            fresh.close()
        assert traffic.elsewhere() == [], traffic.elsewhere()
        context.close()
        return weights

    weights = await browser.run(steps)
    save_artifact("page-weights.json", weights)
    assert all(w["beforePhotos"] < MAX_PAGE_BYTES for w in weights.values()), weights

    [household] = await fetch(resources, "select review_state from submissions where instance_id = $1", first)
    assert household["review_state"] == "rejected"
    [decision] = await fetch(
        resources,
        "select r.to_state, r.reason_code, r.note, r.actor_user_id from submission_reviews r"
        " join submissions s on s.id = r.submission_id where s.instance_id = $1",
        first,
    )
    assert decision == {
        "to_state": "rejected",
        "reason_code": "photo_not_this_house",
        "note": "Ảnh chụp nhà hàng xóm",
        "actor_user_id": site.world.user_ids["ward"],
    }
    [audit] = await fetch(
        resources,
        "select actor_user_id, project_id, details from audits where action = 'submission.update'",
    )
    assert audit["actor_user_id"] == site.world.user_ids["ward"]
    assert audit["project_id"] == site.project
    assert '"reviewState": "rejected"' in audit["details"] or "rejected" in str(audit["details"])
    untouched = await fetch(
        resources,
        "select review_state from submissions where instance_id = any($1::text[])",
        [other_commune, other_district],
    )
    assert [row["review_state"] for row in untouched] == [None, None]


def _context(chromium: Browser, **options: Any) -> BrowserContext:
    return chromium.new_context(**PHONE, **options)


async def test_csrf_the_sign_in_throttle_and_the_cookie_s_reach(
    browser: BrowserThread, server: LiveServer, site: Site, resources: Resources
) -> None:
    origin = server.url
    instance = site.households["19750"][0]
    decision_url = f"{origin}{site.page(f'/households/{instance}')}/decision"

    def steps(chromium: Browser) -> None:
        # Sign-in without the form's token (a page elsewhere posting to it): refused.
        context = _context(chromium, locale="vi-VN")
        forged = context.request.post(
            f"{origin}/review/sign-in", form={"email": "ward@example.org", "password": PASSWORD}, max_redirects=0
        )
        assert forged.status == 403
        page = context.new_page()
        _sign_in(page, origin, "ward@example.org")
        csrf = _csrf(page)
        for token in (None, "x" * 43, csrf[:-1] + ("A" if csrf[-1] != "A" else "B")):
            form: dict[str, str | float | bool] = {"decision": "approved"}
            if token:
                form["csrf"] = token
            refused = context.request.post(decision_url, form=form, max_redirects=0)
            assert refused.status == 403, (token, refused.status)
            assert "biểu mẫu đã hết hạn" in refused.text()
        assert context.request.post(f"{origin}/review/sign-out", form={}, max_redirects=0).status == 403
        accepted = context.request.post(decision_url, form={"csrf": csrf, "decision": "approved"}, max_redirects=0)
        assert accepted.status == 303

        # The cookie authenticates the pages only: the JSON API wants an Authorization header.
        cookies = {c["name"] for c in context.cookies()}
        assert "review_session" in cookies
        for path in (
            "/v1/users/current",
            f"/v1/projects/{site.project}/forms/{site.form}/submissions",
            f"/v1/projects/{site.project}/forms/{site.form}/review/queue",
        ):
            api = context.request.get(f"{origin}{path}")
            assert api.status == 401, (path, api.status)
        patched = context.request.patch(
            f"{origin}/v1/projects/{site.project}/forms/{site.form}/submissions/{instance}",
            data={"reviewState": "rejected", "reason": "other"},
        )
        assert patched.status == 401
        session = next(c for c in context.cookies() if c["name"] == "review_session")
        assert (session["httpOnly"], session["sameSite"], session["path"]) == (True, "Lax", "/")

        # Signing out ends the session: the old cookie no longer opens a page.
        page.goto(f"{origin}/review/")
        page.get_by_role("button", name="Đăng xuất").click()
        page.wait_for_url(re.compile("/review/sign-in"))
        context.add_cookies([{"name": session["name"], "value": session["value"], "url": origin}])
        page.goto(f"{origin}/review/")
        assert "/review/sign-in" in page.url
        context.close()

        # Too many wrong passwords for one account from one address: the sign-in page says 429, nicely.
        context = _context(chromium, locale="en-GB")
        page = context.new_page()
        page.goto(f"{origin}/review/sign-in?lang=en")
        statuses = []
        for _ in range(6):
            page.get_by_label("Email").fill("viewer@example.org")
            page.get_by_label("Password").fill("not the password")
            with page.expect_navigation() as navigation:
                page.get_by_role("button", name="Sign in").click()
            statuses.append(navigation.value.status)
        assert statuses == [401] * 5 + [429], statuses
        assert "Too many failed sign-ins" in page.locator(".error").inner_text()
        # The right password is still refused until the window passes.
        page.get_by_label("Email").fill("viewer@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Sign in").click()
        assert navigation.value is not None
        assert navigation.value.status == 429
        context.close()

    await browser.run(steps)
    [row] = await fetch(resources, "select review_state from submissions where instance_id = $1", instance)
    assert row["review_state"] == "approved"  # only the request with the right token got through
    failures = await fetch(resources, "select count(*) as n from audits where action = 'user.signin.failure'")
    assert failures[0]["n"] == 5


async def test_bulk_decisions_undo_and_the_summary_for_a_district_supervisor(
    browser: BrowserThread, server: LiveServer, site: Site, resources: Resources
) -> None:
    origin = server.url
    district = site.households["19750"] + site.households["19753"]

    def steps(chromium: Browser) -> None:
        context = _context(chromium, locale="en-US")
        page = context.new_page()
        _sign_in(page, origin, "district@example.org")
        page.goto(f"{origin}{site.page('/queue')}")
        assert page.locator("h1").inner_text().startswith("Review queue")
        assert page.locator("ol.queue .title").all_inner_texts() == [site.titles[i] for i in district]
        page.get_by_label("Select all on this page").check()
        assert page.locator("input[name=instance]:checked").count() == 4
        page.get_by_label("Decision", exact=True).select_option("approved")
        page.get_by_role("button", name="Apply", exact=True).last.click()
        page.wait_for_url(re.compile("batch="))
        assert "4 households moved to “Approved”" in page.locator(".batch").inner_text()

        page.goto(f"{origin}{site.page('/summary')}")
        total = page.locator("table.summary tbody tr").first.locator("td").all_inner_texts()
        assert total == ["4", "4", "0", "0", "0", "2"]  # households 1 and 3 live in temporary houses

        page.go_back()
        page.get_by_role("button", name="Undo this batch").click()
        page.wait_for_url(re.compile("restored=4"))
        assert "4 households are back" in page.locator(".notice").inner_text()

        # By filter: everything still open in one commune, flagged with a reason.
        page.goto(f"{origin}{site.page('/queue')}?state=received&district=474&commune=19753")
        assert page.locator("ol.queue .title").count() == 1
        page.get_by_label(re.compile("All 1 households matching")).check()
        page.get_by_label("Decision", exact=True).select_option("hasIssues")
        page.get_by_label("Reason (needed to flag or reject)").select_option("roof_mismatch")
        page.get_by_role("button", name="Apply", exact=True).last.click()
        page.wait_for_url(re.compile("batch="))
        assert "1 households moved to “Has issues”" in page.locator(".batch").inner_text()
        context.close()

    await browser.run(steps)
    states = await fetch(
        resources,
        "select instance_id, review_state from submissions where instance_id = any($1::text[])",
        district,
    )
    by_id = {row["instance_id"]: row["review_state"] for row in states}
    assert by_id == {i: ("hasIssues" if i in site.households["19753"] else None) for i in district}


async def test_the_api_docs_load_without_any_outside_request(browser: BrowserThread, server: LiveServer) -> None:
    origin = server.url

    def steps(chromium: Browser) -> list[str]:
        context = chromium.new_context()
        traffic = Traffic(context, origin)
        page = context.new_page()
        page.goto(f"{origin}/docs", wait_until="networkidle")
        page.locator(".swagger-ui .info .title").wait_for()
        assert "Survey service" in page.locator(".swagger-ui .info .title").inner_text()
        assert traffic.failed == []
        context.close()
        return traffic.elsewhere()

    assert await browser.run(steps) == []


async def test_the_core_flow_works_without_javascript(
    browser: BrowserThread, server: LiveServer, site: Site, resources: Resources
) -> None:
    origin = server.url
    mine = site.households["19750"]

    def steps(chromium: Browser) -> None:
        context = _context(chromium, locale="vi-VN", java_script_enabled=False)
        page = context.new_page()
        _sign_in(page, origin, "ward@example.org")
        page.goto(f"{origin}{site.page('/queue')}")
        assert page.locator("label.select-all").is_hidden()  # a JavaScript convenience only
        page.locator("ol.queue .title").first.click()
        # Approving needs no reason; the next household opens, saying what was recorded.
        page.get_by_role("button", name="Duyệt").click()
        page.wait_for_url(re.compile(re.escape(mine[1].replace(":", "%3A"))))
        assert page.locator(".notice").inner_text() == f"Đã ghi quyết định “Đã duyệt” cho hộ {site.titles[mine[0]]}."
        # A photo opens as itself.
        with page.expect_navigation() as opened:
            page.locator("a.enlarge").first.click()
        assert opened.value is not None
        assert opened.value.headers["content-type"] == "image/jpeg"
        # Ticking two households and applying one decision to both, then undoing it.
        page.goto(f"{origin}{site.page('/queue')}?state=received")
        boxes = page.locator("input[name=instance]")
        assert boxes.count() == 2
        boxes.nth(0).check()
        boxes.nth(1).check()
        page.get_by_label("Quyết định", exact=True).select_option("rejected")
        page.get_by_label("Lý do (bắt buộc khi có vấn đề hoặc từ chối)").select_option("duplicate_household")
        page.get_by_role("button", name="Áp dụng").click()
        page.wait_for_url(re.compile("batch="))
        assert "2 hộ" in page.locator(".batch").inner_text()
        page.get_by_role("button", name="Hoàn tác lô này").click()
        page.wait_for_url(re.compile("restored=2"))
        context.close()

    await browser.run(steps)
    states = await fetch(
        resources, "select instance_id, review_state from submissions where instance_id = any($1::text[])", mine
    )
    assert {row["instance_id"]: row["review_state"] for row in states} == {
        mine[0]: "approved",
        mine[1]: None,
        mine[2]: None,
    }


async def test_photo_evidence_and_a_village_meeting_on_a_phone(
    browser: BrowserThread, server: LiveServer, evidence_site: EvidenceSite, resources: Resources
) -> None:
    """The riskiest-first queue with its badges; a checked household's thumbnails (loaded from this server), the
    photos' EXIF points, its risk and checks; a village meeting recorded through the page moves its stage."""
    origin = server.url
    site = evidence_site.site
    main = evidence_site.main
    [stored] = await fetch(resources, "select risk_score from submissions where instance_id = $1", main)

    def steps(chromium: Browser) -> dict[str, Any]:
        context = _context(chromium, locale="vi-VN")
        traffic = Traffic(context, origin)
        page = context.new_page()
        _sign_in(page, origin, "ward@example.org")
        page.goto(f"{origin}{site.page('/queue')}")
        page.get_by_role("link", name="Rủi ro cao nhất trước").click()
        page.wait_for_url(re.compile("sort=risk"))
        assert page.locator("details.filters").get_attribute("open") is None  # the order alone opens no filter
        badges = page.locator("ol.queue .riskbadge").all_inner_texts()
        scores = [int(b.split()[-1]) for b in badges]
        assert len(scores) == 5, badges
        assert scores == sorted(scores, reverse=True), badges
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        save_artifact("queue-risk-page.png", page.screenshot(full_page=True))

        page.goto(f"{origin}{site.page(f'/households/{main}')}")
        images = page.locator("ul.photos img")
        assert images.count() == 3
        assert all("/thumbnails/small" in (images.nth(i).get_attribute("src") or "") for i in range(3))
        assert all(_photo_loaded(page, i) for i in range(3))
        assert page.locator("svg circle.exif").count() == 2
        assert page.locator(".facts .riskbadge").inner_text() == str(stored["risk_score"])
        assert f"Điểm rủi ro: {stored['risk_score']}/100" in page.locator("section.evidence").inner_text()
        assert page.locator("ul.photos .checks li").count() > 0
        assert page.get_by_role("link", name=re.compile("Xem hộ kia")).count() == 1
        page.locator("a.enlarge").first.click()
        dialog = page.locator("dialog#lightbox")
        dialog.wait_for(state="visible")
        large = dialog.locator("img")
        assert "/thumbnails/large" in (large.get_attribute("src") or "")
        page.wait_for_function("() => document.querySelector('dialog#lightbox img').naturalWidth > 0")
        dialog.get_by_role("button", name="Đóng").click()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.evaluate("window.scrollTo(0, 0)")
        save_artifact("household-evidence-page.png", page.screenshot(full_page=True))

        # The village meeting, through the page's own form.
        form = page.locator("form[data-step=meeting]")
        form.get_by_label("Ngày họp").fill(str(TODAY - timedelta(days=1)))
        form.get_by_label("Tỉ lệ đồng ý (%)").fill("80")
        form.get_by_label("Số người dự họp").fill("35")
        form.get_by_role("button", name="Ghi").click()
        page.wait_for_url(re.compile(r"stepped=1"))
        assert "Đã họp thôn" in page.locator(".notice").inner_text()
        assert "80 % đồng ý" in page.locator("#stages .history").inner_text()
        save_artifact("household-stages.png", page.locator("#stages").screenshot())

        fresh = chromium.new_context(**PHONE, storage_state=context.storage_state())
        fresh_traffic = Traffic(fresh, origin)
        before_photos, by_type = fresh_traffic.weigh(fresh.new_page(), f"{origin}{site.page(f'/households/{main}')}")
        assert fresh_traffic.elsewhere() == []
        fresh.close()
        assert traffic.elsewhere() == [], traffic.elsewhere()
        context.close()
        return {"household with evidence": {"beforePhotos": before_photos, "byType": by_type}}

    weights = await browser.run(steps)
    add_to_artifact("page-weights.json", weights)
    assert all(w["beforePhotos"] < MAX_PAGE_BYTES for w in weights.values()), weights
    [row] = await fetch(resources, "select stage from submissions where instance_id = $1", main)
    assert row["stage"] == "meeting"
