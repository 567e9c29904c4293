"""Reading households over HTTP: keyset pages that never repeat or skip, with the next page in a Link header."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.projects.service import ensure_default_project
from tests.support.households import ingest, publish_household_form
from tests.support.submission import new_instance_id, submission_xml

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.resources import Resources


async def test_pages_follow_the_link_header_without_repeats(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str], resources: Resources
) -> None:
    project = await ensure_default_project(resources, "Paging")
    admin = await access_to(resources, SYSTEM, project)
    await publish_household_form(resources, admin)
    created = []
    for _ in range(7):
        instance = new_instance_id()
        await ingest(resources, admin, submission_xml(instance_id=instance, photos=(None, None)))
        created.append(instance)
    # Same creation time for several rows: the id breaks the tie, so paging is still exact.
    async with resources.pool.acquire() as conn:
        await conn.execute("update submissions set created_at = '2026-11-01T08:00:00Z' where id % 2 = 0")
    url: str | None = f"/v1/projects/{project}/forms/household/submissions?limit=3"
    seen: list[str] = []
    pages = 0
    while url is not None:
        response = await client.get(url, headers=admin_headers)
        assert response.status_code == 200, response.text
        seen += [item["instanceId"] for item in response.json()]
        pages += 1
        link = response.headers.get("link")
        url = link.split(">")[0].lstrip("<") if link else None
    assert pages == 3
    assert sorted(seen) == sorted(created)
    bad = await client.get(
        f"/v1/projects/{project}/forms/household/submissions?cursor=notacursor", headers=admin_headers
    )
    assert (bad.status_code, bad.json()["code"]) == (400, 400.8)


async def test_a_photo_with_a_vietnamese_name_downloads(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str], resources: Resources
) -> None:
    from urllib.parse import quote

    from tests.support.collect import jpeg_bytes

    project = await ensure_default_project(resources, "Names")
    admin = await access_to(resources, SYSTEM, project)
    await publish_household_form(resources, admin)
    name, photo = 'ảnh "nhà"; 1.jpg', jpeg_bytes(seed=3)
    instance = new_instance_id()
    await ingest(resources, admin, submission_xml(instance_id=instance, photos=(name, None)), [(name, photo)])
    url = f"/v1/projects/{project}/forms/household/submissions/{instance}/attachments/{quote(name, safe='')}"
    response = await client.get(url, headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.content == photo
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('inline; filename="anh _nha__ 1.jpg"; ')
    assert disposition.endswith("filename*=UTF-8''" + quote(name, safe=""))


def test_content_disposition_keeps_plain_names_plain() -> None:
    from service.downloads import content_disposition

    assert content_disposition("attachment", "villages.csv") == 'attachment; filename="villages.csv"'
    assert "filename*=UTF-8''th%C3%B4n.csv" in content_disposition("attachment", "thôn.csv")
