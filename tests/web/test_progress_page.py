"""The progress page over HTTP and in a real Chromium on a 360 px phone: the poor rate per district next to the
province's target (per commune once a district is chosen), in Vietnamese and in English, each role's areas only,
the CSV behind the session cookie, nothing loaded from elsewhere and the page under 300 KB."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from tests.progress.kit import shape_site, store_totals
from tests.support.server import live_server
from tests.web.browser import PHONE, BrowserThread, Traffic, save_artifact
from tests.web.test_browser import MAX_PAGE_BYTES
from tests.web.test_pages import sign_in

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import AsyncTestClient
    from playwright.sync_api import Browser, Page

    from service.resources import Resources
    from service.settings import Settings
    from tests.support.server import LiveServer
    from tests.web.conftest import Site


@pytest.fixture
async def progress_site(resources: Resources, site: Site) -> Site:
    await shape_site(resources, site)
    await store_totals(resources)
    return site


def _row(html: str, code: str, table: str = "rates") -> str:
    """The HTML of one area's row in one of the page's tables."""
    start = html.index(f'<table class="summary progress {table}">')
    found = re.search(rf'<tr class="level-\w+" data-area="{code}">(.*?)</tr>', html[start:], re.S)
    assert found is not None, code
    return found.group(1)


async def test_the_page_in_both_languages(client: AsyncTestClient[Litestar], progress_site: Site) -> None:
    await sign_in(client, "manager@example.org")
    page = await client.get(progress_site.page("/progress"))
    assert page.status_code == 200, page.text
    html = page.text
    assert "Tiến độ so với mục tiêu" in html
    assert "Tỷ lệ hộ nghèo theo huyện" in html
    hue = _row(html, "474")
    assert "2,14%" in hue  # 3 poor of 140 households (the sum of its communes' totals)
    assert "2,2% (cuối năm 2024)" in hue
    assert "Đạt" in hue
    assert "Huyện nghèo từ 2022 đến 2024" in _row(html, "481")
    assert 'data-area="19750"' not in html  # communes only once a district is chosen

    english = await client.get(progress_site.page("/progress?lang=en&district=474"))
    html = english.text
    assert "Poor rate by commune" in html
    assert "2.50%" in _row(html, "19753")
    assert "2.2% (end of 2024)" in _row(html, "19753")
    assert "Not met" in _row(html, "19753")
    assert "Fell back into poverty" in html
    assert "1" in _row(html, "19750", "changes")
    assert "there is no “after” photo" in html

    csv = await client.get(progress_site.page("/progress.csv?district=474"))
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.splitlines()) == 1 + 1 + 36


async def test_a_commune_supervisor_sees_only_their_commune(
    client: AsyncTestClient[Litestar], progress_site: Site
) -> None:
    await sign_in(client, "ward@example.org")
    html = (await client.get(progress_site.page("/progress"))).text
    assert re.findall(r'<tr class="level-\w+" data-area="(\d+)">', html) == ["19750"] * 3  # once per table
    assert (await client.get(progress_site.page("/progress?district=474"))).status_code == 403
    client.cookies.clear()
    await sign_in(client, "enumerator@example.org")
    assert (await client.get(progress_site.page("/progress"))).status_code == 403


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserThread]:
    chromium = BrowserThread()
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def server(progress_site: Site, settings: Settings, tmp_path: Path) -> Iterator[LiveServer]:
    assert settings.database_url is not None
    with live_server(
        database_url=settings.database_url, tmp_path=tmp_path, env={"ADMIN_EMAIL": "root@example.org"}
    ) as running:
        yield running


def _sign_in(page: Page, origin: str, email: str) -> None:
    from tests.web.test_browser import _sign_in as sign_in_in_browser

    sign_in_in_browser(page, origin, email)


def _cells(page: Page, code: str) -> dict[str, str]:
    row = page.locator(f'table.rates tr[data-area="{code}"]')
    labels = row.locator("td").evaluate_all("cells => cells.map(c => c.dataset.label)")
    return dict(zip(labels, row.locator("td").all_inner_texts(), strict=True))


async def test_district_rates_next_to_the_targets_on_a_phone(
    browser: BrowserThread, server: LiveServer, progress_site: Site
) -> None:
    origin = server.url

    def steps(chromium: Browser) -> dict[str, Any]:
        context = chromium.new_context(**PHONE, locale="vi-VN")
        traffic = Traffic(context, origin)
        page = context.new_page()
        _sign_in(page, origin, "manager@example.org")
        page.get_by_role("link", name="Tiến độ").first.click()
        page.wait_for_url(re.compile("/progress$"))
        assert page.locator("h1").inner_text().startswith("Tiến độ so với mục tiêu")
        assert page.locator(".headline dd.rate").inner_text() == "0,88%"  # 3 poor of 340 in the province
        hue = _cells(page, "474")
        assert (hue["Tỷ lệ hộ nghèo"], hue["Mục tiêu"].split(" Đạt")[0]) == ("2,14%", "2,2% (cuối năm 2024)")
        a_luoi = _cells(page, "481")
        assert a_luoi["Tổng số hộ"] == "200"
        assert a_luoi["Tỷ lệ hộ nghèo"] == "0,00%"
        assert page.locator('table.rates tr[data-area="481"] small.note').inner_text().startswith("Huyện nghèo")
        assert page.locator('table.rates tr[data-area="474"] svg.rate-bar rect.mark').count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        save_artifact("progress-page.png", page.screenshot(full_page=True))

        # A district: its communes, each next to the target; one over it is marked so.
        page.get_by_role("link", name="Thành phố Huế").click()
        page.wait_for_url(re.compile("district=474"))
        assert page.locator("h2").first.inner_text() == "Thành phố Huế"
        commune = _cells(page, "19753")
        assert commune["Tỷ lệ hộ nghèo"] == "2,50%"
        assert "Chưa đạt" in commune["Mục tiêu"]
        assert page.locator('table.rates tr[data-area="19753"] rect.rate.over').count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 360

        # In English, the same figures.
        page.goto(f"{origin}{progress_site.page('/progress')}?lang=en")
        hue = _cells(page, "474")
        assert (hue["Poor rate"], hue["Target"].split(" Met")[0]) == ("2.14%", "2.2% (end of 2024)")

        fresh = chromium.new_context(**PHONE, storage_state=context.storage_state())
        fresh_traffic = Traffic(fresh, origin)
        before_photos, by_type = fresh_traffic.weigh(fresh.new_page(), f"{origin}{progress_site.page('/progress')}")
        assert fresh_traffic.elsewhere() == []
        fresh.close()
        assert traffic.elsewhere() == [], traffic.elsewhere()
        context.close()
        return {"beforePhotos": before_photos, "byType": by_type}

    weight = await browser.run(steps)
    save_artifact("progress-page-weight.json", weight)
    assert weight["beforePhotos"] < MAX_PAGE_BYTES, weight
