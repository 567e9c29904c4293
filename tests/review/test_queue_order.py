"""The review queue riskiest first (photo evidence's risk score; households not checked yet last) with keyset paging,
filtered by the legal stages, and a bulk decision by filter that takes the households the queue shows first."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from service.settings import Settings
from tests.review.conftest import fetch

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.resources import Resources
    from tests.review.conftest import World

# Scores given to the world's seven households, in the order they arrived (None: not checked yet). Two share 35,
# so ties are broken by id (newest first), as the index orders them.
SCORES = [10, None, 35, 80, None, 35, 0]


async def _score(resources: Resources, world: World) -> list[str]:
    """Gives the households their scores (as the evidence job stores them) and returns the instanceIDs riskiest
    first, as the queue must list them."""
    rows = await fetch(resources, "select id, instance_id from submissions order by created_at, id")
    assert len(rows) == len(SCORES)
    async with resources.pool.acquire() as conn:
        for row, score in zip(rows, SCORES, strict=True):
            await conn.execute(
                """update submissions set risk_score = $2, evidence_warn = $3, evidence_risk = $4,
                   evidence_checked_at = case when $2::int is null then null else now() end where id = $1""",
                row["id"],
                score,
                (score or 0) // 10 % 3,
                (score or 0) // 35,
            )
    ranked = sorted(zip(rows, SCORES, strict=True), key=lambda p: (p[1] is None, -(p[1] or 0), -p[0]["id"]))
    return [row["instance_id"] for row, _ in ranked]


async def _all_pages(client: AsyncTestClient[Litestar], url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            return items


async def test_riskiest_first_with_unchecked_last_page_by_page(
    client: AsyncTestClient[Litestar], resources: Resources, world: World
) -> None:
    expected = await _score(resources, world)
    manager = world.headers["manager"]
    # Pages of two cross from the scored households into the unscored ones in the middle of a page and at its end.
    for limit in (1, 2, 3, 7):
        items = await _all_pages(client, world.url(f"/review/queue?sort=risk&limit={limit}"), manager)
        assert [i["instanceId"] for i in items] == expected, limit
    first = (await client.get(world.url("/review/queue?sort=risk&limit=1"), headers=manager)).json()
    [top] = first["items"]
    assert (top["riskScore"], top["checks"], top["stage"]) == (80, {"info": 0, "warn": 2, "risk": 2}, "surveyed")
    assert first["counts"] == {"received": 7}
    unchecked = (await client.get(world.url("/review/queue?sort=risk&limit=7"), headers=manager)).json()["items"][-1]
    assert (unchecked["riskScore"], unchecked["checks"]) == (None, {"info": 0, "warn": 0, "risk": 0})

    # The commune supervisor's queue in the same order, within the commune.
    ward = await _all_pages(client, world.url("/review/queue?sort=risk&limit=2"), world.headers["ward"])
    mine = set(world.households["19750"])
    assert [i["instanceId"] for i in ward] == [i for i in expected if i in mine]

    # The default order is unchanged, and a cursor of one order is refused under the other.
    oldest = (await client.get(world.url("/review/queue?limit=1"), headers=manager)).json()
    assert oldest["items"][0]["instanceId"] == world.households["19750"][0]
    refused = await client.get(world.url(f"/review/queue?sort=risk&cursor={oldest['nextCursor']}"), headers=manager)
    assert (refused.status_code, refused.json()["code"]) == (400, 400.8)
    risky_cursor = first["nextCursor"]
    refused = await client.get(world.url(f"/review/queue?cursor={risky_cursor}"), headers=manager)
    assert refused.status_code == 400
    assert (await client.get(world.url("/review/queue?sort=newest"), headers=manager)).status_code == 400


async def test_the_riskiest_first_keyset_is_a_range_of_the_risk_index(resources: Resources, world: World) -> None:
    """The page after a cursor continues in submissions_form_risk_idx (a row comparison on its columns is an index
    range, read in the index's order): no sort of the form's households, however deep the page."""
    await _score(resources, world)
    from service.auth.access import access_to
    from service.auth.models import SYSTEM
    from service.review import queries
    from service.review.models import QueueFilter

    access = await access_to(resources, SYSTEM, world.project)
    scope = access.scope("submission.list")
    async with resources.pool.acquire() as conn, conn.transaction():
        await conn.execute("set local enable_seqscan = off")  # seven rows: make the planner show its index plan
        form_id = await conn.fetchval("select id from forms where xml_form_id = 'located'")
        filters = QueueFilter(xml_form_id="located", sort="risk")
        rows = await queries.queue_page_by_risk(conn, scope, form_id, filters, None, after=(35, 10**9), limit=3)
        assert [r.risk_score for r in rows] == [35, 35, 10]
        plan = await conn.fetchval(
            "explain (format json) select s.id from submissions s where s.form_id = $1 and s.deleted_at is null"
            " and (s.risk_score, s.id) < ($2::int, $3::bigint)"
            " order by s.risk_score desc nulls last, s.id desc limit 3",
            form_id,
            35,
            10**9,
        )
    text = str(plan)
    assert "submissions_form_risk_idx" in text
    assert "'Node Type': 'Sort'" not in text


async def test_the_stage_filter(client: AsyncTestClient[Litestar], resources: Resources, world: World) -> None:
    manager = world.headers["manager"]
    met, other = world.households["19750"][0], world.households["19753"][0]
    meeting = {"stage": "meeting", "meetingDate": str(Settings().local_today() - timedelta(days=3)), "attendees": 30}
    for instance, percent in ((met, 80), (other, 20)):
        taken = await client.post(
            world.url(f"/submissions/{instance}/stages"), json={**meeting, "agreementPercent": percent}, headers=manager
        )
        assert taken.status_code == 200, taken.text
    only = (await client.get(world.url("/review/queue?stage=meeting"), headers=manager)).json()
    assert [(i["instanceId"], i["stage"]) for i in only["items"]] == [(met, "meeting")]
    assert only["counts"] == {"received": 1}  # counts follow the filter (all its review states)
    both = (await client.get(world.url("/review/queue?stage=meeting&stage=re_review"), headers=manager)).json()
    assert {i["instanceId"] for i in both["items"]} == {met, other}
    surveyed = (await client.get(world.url("/review/queue?stage=surveyed"), headers=manager)).json()
    assert len(surveyed["items"]) == 5
    assert (await client.get(world.url("/review/queue?stage=listed"), headers=manager)).status_code == 400
    # The stage filter also selects a bulk decision's households.
    bulk = await client.post(
        world.url("/review/bulk"), json={"reviewState": "approved", "stage": ["re_review"]}, headers=manager
    )
    assert bulk.json()["changed"] == 1
    [row] = await fetch(resources, "select review_state from submissions where instance_id = $1", other)
    assert row["review_state"] == "approved"


async def test_a_bulk_decision_by_filter_takes_the_riskiest_the_queue_shows(
    client: AsyncTestClient[Litestar], resources: Resources, world: World
) -> None:
    expected = await _score(resources, world)
    district = world.headers["district"]
    shown = (await client.get(world.url("/review/queue?sort=risk&area=474&limit=2"), headers=district)).json()
    first_two = [i["instanceId"] for i in shown["items"]]
    in_district = set(world.households["19750"] + world.households["19753"])
    assert first_two == [i for i in expected if i in in_district][:2]
    bulk = await client.post(
        world.url("/review/bulk"),
        json={"reviewState": "hasIssues", "reason": "roof_mismatch", "area": "474", "sort": "risk", "limit": 2},
        headers=district,
    )
    assert bulk.json()["changed"] == 2
    flagged = await fetch(resources, "select instance_id from submissions where review_state = 'hasIssues'")
    assert {r["instance_id"] for r in flagged} == set(first_two)
    bad = await client.post(
        world.url("/review/bulk"), json={"reviewState": "approved", "sort": "random", "limit": 2}, headers=district
    )
    assert bad.status_code == 400
