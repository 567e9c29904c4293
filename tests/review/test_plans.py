"""Exit plans over HTTP on a real database: a plan with an owner, actions and visits; what makes a plan concrete;
the four gap lists (no plan, no owner, overdue actions, no agency for a household without working capacity) with
their paging; scope and roles."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from service.areas import service as areas
from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.forms import service as forms
from service.settings import Settings
from tests.areas.test_areas import CHOICES, SURVEY
from tests.review.conftest import fetch
from tests.support.households import ingest
from tests.support.submission import new_instance_id
from tests.support.xlsform import XLSX, xlsx

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.resources import Resources
    from tests.review.conftest import World

PLANNED_SURVEY = [
    *SURVEY,
    ["begin_group", "g_hh", "Hộ", None],
    ["select_multiple hh_flags", "hh_flags", "Đặc điểm", None],
    ["end_group", None, None, None],
    ["begin_group", "g_result", "Kết quả", None],
    ["text", "classification", "Phân loại", None],
    ["end_group", None, None, None],
]
PLANNED_CHOICES = [
    *CHOICES,
    ["hh_flags", "no_labour", "Hộ không có khả năng lao động", "No working capacity", None, None],
    ["hh_flags", "none", "Không", "None", None, None],
]
TODAY = Settings().local_today()


def planned(commune: str, classification: str, flags: str = "none", *, instance_id: str) -> bytes:
    district = "481" if commune == "20044" else "474"
    return (
        f'<data id="planned" version="1"><g_loc><district>{district}</district><commune>{commune}</commune>'
        f"<village>other</village></g_loc><hh_name>Hộ</hh_name><g_hh><hh_flags>{flags}</hh_flags></g_hh>"
        f"<g_result><classification>{classification}</classification></g_result>"
        f"<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()


@pytest.fixture
async def households(resources: Resources, world: World) -> dict[str, str]:
    """The `planned` form in the review project, and five households of it: name → instanceID."""
    admin = await access_to(resources, SYSTEM, world.project)
    await forms.create_form(
        resources,
        admin,
        xlsx(PLANNED_SURVEY, choices=PLANNED_CHOICES, form_id="planned", version="1"),
        content_type=XLSX,
        fallback_form_id=None,
        publish=True,
        ignore_warnings=True,
    )
    await areas.load_areas_from_form(resources, admin, "planned")
    found = {}
    for name, commune, classification, flags in (
        ("poor", "19750", "poor", "none"),
        ("near_poor", "19750", "near_poor", "none"),
        ("average", "19750", "average", "none"),
        ("no_labour", "19750", "poor", "no_labour"),
        ("elsewhere", "19753", "poor", "none"),
    ):
        found[name] = new_instance_id()
        await ingest(resources, admin, planned(commune, classification, flags, instance_id=found[name]))
    return found


def url(world: World, path: str) -> str:
    return f"/v1/projects/{world.project}/forms/planned{path}"


async def gap_ids(client: AsyncTestClient[Litestar], world: World, gap: str, who: str = "ward") -> list[str]:
    answer = await client.get(url(world, "/plan-gaps"), params={"gap": gap}, headers=world.headers[who])
    assert answer.status_code == 200, answer.text
    return [item["instanceId"] for item in answer.json()["items"]]


async def test_a_plan_with_an_owner_actions_and_visits(
    client: AsyncTestClient[Litestar], resources: Resources, world: World, households: dict[str, str]
) -> None:
    plan_url = url(world, f"/submissions/{households['poor']}/plan")
    ward, viewer = world.headers["ward"], world.headers["viewer"]
    assert (await client.get(plan_url, headers=ward)).status_code == 404
    assert (await client.put(plan_url, json={"ownerName": "Cán bộ"}, headers=viewer)).status_code == 403

    empty = await client.put(plan_url, json={"pathway": "livestock", "targetExitYear": 2025}, headers=ward)
    assert empty.status_code == 200, empty.text
    assert empty.json()["gaps"] == ["no_owner", "no_actions"]

    owned = await client.put(
        plan_url,
        json={"ownerName": "Trần Văn Cán", "agency": "Hội Nông dân xã", "pathway": "livestock", "targetExitYear": 2025},
        headers=ward,
    )
    assert owned.json()["gaps"] == ["no_actions"]
    action = {
        "supportType": "credit",
        "programmeProject": "p2_livelihoods",
        "description": "Vay 50 triệu nuôi bò sinh sản",
        "amountVnd": 50_000_000,
        "fundingSource": "policy_credit",
        "responsible": "Ngân hàng CSXH huyện",
        "dueDate": str(TODAY + timedelta(days=60)),
    }
    with_action = await client.post(f"{plan_url}/actions", json=action, headers=ward)
    assert with_action.status_code == 200, with_action.text
    assert with_action.json()["gaps"] == []
    vague = await client.post(
        f"{plan_url}/actions", json={"supportType": "training", "description": "Học nghề"}, headers=ward
    )
    body = vague.json()
    assert body["gaps"] == ["action_without_date", "action_without_responsible"]
    assert body["totalAmountVnd"] == 50_000_000
    for bad in (
        {**action, "supportType": "money"},
        {**action, "amountVnd": -1},
        {**action, "description": ""},
        {**action, "doneOn": str(TODAY + timedelta(days=1))},
        {**action, "surprise": True},
        {**action, "description": "x" * 2001},
        {**action, "responsible": "x" * 201},
        {**action, "amountVnd": 10**11},
    ):
        refused = await client.post(f"{plan_url}/actions", json=bad, headers=ward)
        assert refused.status_code == 400, (bad, refused.text)

    training = body["actions"][1]["id"]
    done = await client.patch(
        f"{plan_url}/actions/{training}",
        json={"responsible": "Trung tâm GDNN", "dueDate": str(TODAY - timedelta(days=3)), "doneOn": str(TODAY)},
        headers=ward,
    )
    assert done.status_code == 200, done.text
    assert done.json()["actions"][1]["doneOn"] == str(TODAY)
    assert done.json()["actions"][1]["overdue"] is False
    assert (await client.patch(f"{plan_url}/actions/999999", json={}, headers=ward)).status_code == 404

    visit = {"visitDate": str(TODAY), "progress": "on_track", "note": "Bò đã đẻ"}
    visited = await client.post(f"{plan_url}/visits", json=visit, headers=ward)
    assert visited.json()["visits"][0]["visitedByName"] == "ward@example.org"
    future = await client.post(
        f"{plan_url}/visits", json={**visit, "visitDate": str(TODAY + timedelta(days=2))}, headers=ward
    )
    assert (future.status_code, future.json()["code"]) == (400, 400.8)
    assert (await client.get(plan_url, headers=viewer)).json()["ownerName"] == "Trần Văn Cán"

    audits = await fetch(resources, "select action from audits where action like 'plan.%' order by id")
    assert [a["action"] for a in audits] == [
        "plan.update",
        "plan.update",
        "plan.action",
        "plan.action",
        "plan.action",
        "plan.visit",
    ]

    # Outside the supervisor's commune, a household's plan is as unknown as a missing one.
    elsewhere = url(world, f"/submissions/{households['elsewhere']}/plan")
    assert (await client.put(elsewhere, json={"ownerName": "X"}, headers=ward)).status_code == 404


async def test_the_gap_lists(client: AsyncTestClient[Litestar], world: World, households: dict[str, str]) -> None:
    ward, district = world.headers["ward"], world.headers["district"]
    # Poor and near-poor households of the ward's commune without a plan (not the average one, not another commune).
    assert set(await gap_ids(client, world, "no_plan")) == {
        households["poor"],
        households["near_poor"],
        households["no_labour"],
    }
    assert households["elsewhere"] in await gap_ids(client, world, "no_plan", "district")
    assert await gap_ids(client, world, "no_agency") == [households["no_labour"]]

    no_labour = url(world, f"/submissions/{households['no_labour']}/plan")
    await client.put(no_labour, json={"ownerName": "Cán bộ LĐTBXH"}, headers=ward)
    assert await gap_ids(client, world, "no_agency") == [households["no_labour"]]
    await client.put(no_labour, json={"ownerName": "Cán bộ", "agency": "Sở Tư pháp"}, headers=ward)
    assert await gap_ids(client, world, "no_agency") == []

    poor = url(world, f"/submissions/{households['poor']}/plan")
    await client.put(poor, json={"pathway": "wage_work"}, headers=ward)
    assert await gap_ids(client, world, "no_owner") == [households["poor"]]
    assert households["poor"] not in await gap_ids(client, world, "no_plan")

    for days in (30, 10, 20):
        action = {"supportType": "training", "description": f"Quá hạn {days}", "responsible": "Xã"}
        await client.post(
            f"{poor}/actions", json={**action, "dueDate": str(TODAY - timedelta(days=days))}, headers=ward
        )
    await client.post(
        f"{poor}/actions",
        json={"supportType": "credit", "description": "Chưa đến hạn", "dueDate": str(TODAY + timedelta(days=5))},
        headers=ward,
    )
    first = await client.get(url(world, "/plan-gaps"), params={"gap": "overdue", "limit": 2}, headers=district)
    page = first.json()
    assert [item["action"] for item in page["items"]] == ["Quá hạn 30", "Quá hạn 20"]
    assert page["items"][0]["dueDate"] == str(TODAY - timedelta(days=30))
    second = await client.get(
        url(world, "/plan-gaps"),
        params={"gap": "overdue", "limit": 2, "cursor": page["nextCursor"]},
        headers=district,
    )
    assert [item["action"] for item in second.json()["items"]] == ["Quá hạn 10"]
    assert second.json()["nextCursor"] is None

    bad_queries: list[dict[str, str | int]] = [
        {"gap": "bogus"},
        {"gap": "overdue", "cursor": "nope"},
        {"gap": "overdue", "limit": 0},
    ]
    for params in bad_queries:
        refused = await client.get(url(world, "/plan-gaps"), params=params, headers=ward)
        assert refused.status_code == 400, (params, refused.text)
    assert (
        await client.get(url(world, "/plan-gaps"), params={"gap": "no_plan"}, headers=world.headers["enumerator"])
    ).status_code == 403
