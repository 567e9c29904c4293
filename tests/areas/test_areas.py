"""Areas as data: loaded from a form's choice lists (the example form: 9 districts, 141 communes, its villages) or a
CSV; every household records its district, commune and village and all the areas above them, at ingest and again
whenever a form's area fields change; a district's supervisor reaches all of its communes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from service.areas import service as areas
from service.areas.models import AreaFields
from service.auth.access import access_to
from service.auth.models import SYSTEM, Actor
from service.bootstrap import ensure_example_forms
from service.errors import Problem
from service.forms import service as forms
from service.projects.service import assign_role, ensure_default_project
from service.submissions import reading
from tests.support.households import ingest
from tests.support.submission import new_instance_id
from tests.support.xlsform import XLSX, xlsx

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.auth.access import Access
    from service.resources import Resources

SURVEY: list[list[str | None]] = [
    ["type", "name", "label", "choice_filter"],
    ["begin_group", "g_loc", "Địa bàn", None],
    ["select_one district", "district", "Huyện", None],
    ["select_one commune", "commune", "Xã", "district=${district}"],
    ["select_one village", "village", "Thôn", "commune=${commune} or name='other'"],
    ["end_group", None, None, None],
    ["text", "hh_name", "Chủ hộ", None],
]
CHOICES: list[list[str | None]] = [
    ["list_name", "name", "label::Tiếng Việt (vi)", "label::English (en)", "district", "commune"],
    ["district", "474", "Thành phố Huế", "Hue City", None, None],
    ["district", "481", "Huyện A Lưới", "A Luoi District", None, None],
    ["commune", "19750", "Phường Tây Lộc", "Tay Loc Ward", "474", None],
    ["commune", "19753", "Phường Thuận Lộc", "Thuan Loc Ward", "474", None],
    ["commune", "20044", "Thị trấn A Lưới", "A Luoi Town", "481", None],
    ["village", "19750-01", "Tổ dân phố 1", "Block 1", None, "19750"],
    ["village", "other", "Khác", "Other", None, None],
]


def household(district: str, commune: str, village: str, *, instance_id: str | None = None) -> bytes:
    return (
        f'<data id="located" version="1"><g_loc><district>{district}</district><commune>{commune}</commune>'
        f"<village>{village}</village></g_loc><hh_name>Hộ {commune}</hh_name>"
        f"<meta><instanceID>{instance_id or new_instance_id()}</instanceID><instanceName>Hộ {commune}</instanceName>"
        "</meta></data>"
    ).encode()


@pytest.fixture
async def admin(resources: Resources) -> Access:
    project = await ensure_default_project(resources, "Areas")
    access = await access_to(resources, SYSTEM, project)
    await forms.create_form(
        resources,
        access,
        xlsx(SURVEY, choices=CHOICES, form_id="located", version="1"),
        content_type=XLSX,
        fallback_form_id=None,
        publish=True,
        ignore_warnings=True,
    )
    return access


async def rows(resources: Resources, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with resources.pool.acquire() as conn:
        return [dict(r) for r in await conn.fetch(sql, *args)]


async def test_the_example_form_brings_its_districts_communes_and_villages(resources: Resources) -> None:
    project = await ensure_default_project(resources, "Example")
    assert await ensure_example_forms(resources, project) == ["household_poverty_review_2023"]
    counts = await rows(resources, "select level, count(*) as n from areas group by level")
    by_level = {r["level"]: r["n"] for r in counts}
    assert by_level["province"] == 1
    assert by_level["district"] == 9
    assert by_level["commune"] == 141
    assert by_level["village"] > 500
    [ward] = await rows(resources, "select parent_code, name, name_en from areas where code = '19750'")
    assert ward == {"parent_code": "474", "name": "Phường Tây Lộc", "name_en": "Tay Loc Ward"}
    [village] = await rows(resources, "select parent_code, level from areas where code = '19750-01'")
    assert village == {"parent_code": "19750", "level": "village"}


async def test_a_household_records_its_areas_and_those_above(resources: Resources, admin: Access) -> None:
    loaded = await areas.load_areas_from_form(resources, admin, "located")
    assert (loaded.districts, loaded.communes, loaded.villages) == (2, 3, 1)
    await ingest(resources, admin, household("474", "19750", "19750-01"))
    await ingest(resources, admin, household("481", "20044", "other"))
    found = await rows(
        resources,
        "select district_code, commune_code, village_code, area_codes from submissions order by commune_code",
    )
    assert found == [
        {
            "district_code": "474",
            "commune_code": "19750",
            "village_code": "19750-01",
            "area_codes": ["19750", "19750-01", "46", "474"],
        },
        {"district_code": "481", "commune_code": "20044", "village_code": None, "area_codes": ["20044", "46", "481"]},
    ]


async def test_changing_the_area_fields_rereads_every_household(resources: Resources, admin: Access) -> None:
    await areas.load_areas_from_form(resources, admin, "located")
    await ingest(resources, admin, household("474", "19753", "other"))
    # Say the commune is the only area field: the district is then taken from the areas above the commune.
    moved = await areas.set_area_fields(resources, admin, "located", AreaFields(commune="/data/g_loc/commune"))
    assert moved.households_updated == 1
    [row] = await rows(resources, "select district_code, commune_code, area_codes from submissions")
    assert row == {"district_code": None, "commune_code": "19753", "area_codes": ["19753", "46", "474"]}
    kinds = [r["kind"] for r in await rows(resources, "select kind from submission_changes order by id")]
    assert kinds == ["created", "areas"]
    with pytest.raises(Problem) as unknown:
        await areas.set_area_fields(resources, admin, "located", AreaFields(commune="/data/nowhere"))
    assert unknown.value.code == 400.8


async def test_a_district_supervisor_reaches_all_its_communes(resources: Resources, admin: Access) -> None:
    from service.auth.service import create_user

    await areas.load_areas_from_form(resources, admin, "located")
    for district, commune in (("474", "19750"), ("474", "19753"), ("481", "20044")):
        await ingest(resources, admin, household(district, commune, "other"))
    seen = {}
    for email, grant in (("hue@example.org", ["474"]), ("ward@example.org", ["19753"]), ("prov@example.org", ["46"])):
        user = await create_user(resources, SYSTEM, email=email, password="a long password")
        await assign_role(resources, admin, user_id=user.id, role="supervisor", area_codes=grant)
        access = await access_to(resources, Actor(kind="user", id=user.id), admin.project_id)
        page = await reading.list_submissions(resources, access, "located", limit=10, cursor=None)
        seen[email] = sorted(item.instance_name or "" for item in page.items)
    assert seen["hue@example.org"] == ["Hộ 19750", "Hộ 19753"]
    assert seen["ward@example.org"] == ["Hộ 19753"]
    assert seen["prov@example.org"] == ["Hộ 19750", "Hộ 19753", "Hộ 20044"]


async def test_areas_over_http(client: AsyncTestClient[Litestar], admin_headers: dict[str, str]) -> None:
    csv = "code,level,parent_code,name,name_en\n46,province,,Tỉnh Thừa Thiên Huế,\n483,district,46,Huyện Nam Đông,\n"
    imported = await client.post("/v1/areas", content=csv.encode(), headers=admin_headers)
    assert imported.status_code == 200, imported.text
    assert imported.json()["districts"] == 1
    listed = await client.get("/v1/areas?level=district", headers=admin_headers)
    assert [a["code"] for a in listed.json()] == ["483"]
    orphan = "code,level,parent_code,name\n20161,commune,999,Thị trấn Khe Tre\n"
    refused = await client.post("/v1/areas", content=orphan.encode(), headers=admin_headers)
    assert refused.status_code in {400, 409}, refused.text
    assert (await client.get("/v1/areas")).status_code == 401
