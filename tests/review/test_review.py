"""Review over HTTP on a real database: every state transition with its reason, comments, diffs, the scope of each
role, the queue with its filters and counts, bulk decisions and their undo, and the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.areas.test_areas import household
from tests.review.conftest import fetch
from tests.support.households import ingest

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.resources import Resources
    from tests.review.conftest import World


async def test_every_transition_is_recorded_with_its_reason(
    client: AsyncTestClient[Litestar], resources: Resources, world: World
) -> None:
    instance = world.households["19750"][0]
    url, manager = world.url(f"/submissions/{instance}"), world.headers["manager"]

    approved = await client.patch(url, json={"reviewState": "approved"}, headers=manager)
    assert approved.status_code == 200, approved.text
    assert approved.json()["reviewState"] == "approved"
    assert approved.json()["currentVersion"]["instanceId"] == instance

    no_reason = await client.patch(url, json={"reviewState": "rejected"}, headers=manager)
    assert (no_reason.status_code, no_reason.json()["code"]) == (400, 400.2)
    wrong_reason = await client.patch(url, json={"reviewState": "hasIssues", "reason": "not_eligible"}, headers=manager)
    assert (wrong_reason.status_code, wrong_reason.json()["code"]) == (400, 400.8)
    for bogus in ("edited", "bogus", None):
        refused = await client.patch(url, json={"reviewState": bogus}, headers=manager)
        assert (refused.status_code, refused.json()["code"]) == (400, 400.8), bogus

    flagged = await client.patch(
        url,
        json={"reviewState": "hasIssues", "reason": "roof_mismatch", "note": "Mái tôn, không phải mái lá"},
        headers=manager,
    )
    assert flagged.json()["reviewState"] == "hasIssues"
    rejected = await client.patch(
        url, json={"reviewState": "rejected", "reason": "photo_not_this_house"}, headers=manager
    )
    assert rejected.json()["reviewState"] == "rejected"

    decisions = await fetch(
        resources, "select from_state, to_state, reason_code, note from submission_reviews order by id"
    )
    assert [(d["from_state"], d["to_state"], d["reason_code"]) for d in decisions] == [
        (None, "approved", None),
        ("approved", "hasIssues", "roof_mismatch"),
        ("hasIssues", "rejected", "photo_not_this_house"),
    ]
    assert decisions[1]["note"] == "Mái tôn, không phải mái lá"
    changes = await fetch(resources, "select kind from submission_changes where kind = 'review'")
    assert len(changes) == 3
    audits = await fetch(resources, "select details from audits where action = 'submission.update' order by id")
    assert len(audits) == 3
    # A new version from the phone makes it `edited`, whatever the reviewer said (as in Central).
    from service.auth.access import access_to
    from service.auth.models import SYSTEM

    admin = await access_to(resources, SYSTEM, world.project)
    xml = household("474", "19750", "other").replace(
        b"</meta>", f"<deprecatedID>{instance}</deprecatedID></meta>".encode()
    )
    await ingest(resources, admin, xml)
    assert (await client.get(url, headers=manager)).json()["reviewState"] == "edited"
    reasons = await client.get(f"/v1/projects/{world.project}/review-reasons", headers=world.headers["viewer"])
    assert {"photo_not_this_house", "roof_mismatch"} <= {r["code"] for r in reasons.json()}


async def test_each_role_reaches_exactly_its_area(client: AsyncTestClient[Litestar], world: World) -> None:
    inside, outside = world.households["19750"][0], world.households["19753"][0]
    other_district = world.households["20044"][0]
    decide = {"reviewState": "approved"}

    ward = world.headers["ward"]
    assert (await client.patch(world.url(f"/submissions/{inside}"), json=decide, headers=ward)).status_code == 200
    for hidden in (outside, other_district):
        for method, suffix in (
            ("GET", ""),
            ("PATCH", ""),
            ("GET", "/comments"),
            ("GET", "/attachments"),
            ("GET", ".xml"),
        ):
            response = await client.request(
                method,
                world.url(f"/submissions/{hidden}{suffix}"),
                json=decide if method == "PATCH" else None,
                headers=ward,
            )
            assert response.status_code == 404, (method, suffix, response.text)
    listed = await client.get(world.url("/submissions"), headers=ward)
    assert {s["instanceId"] for s in listed.json()} == set(world.households["19750"])

    district = world.headers["district"]
    listed = await client.get(world.url("/submissions"), headers=district)
    assert {s["instanceId"] for s in listed.json()} == set(world.households["19750"] + world.households["19753"])
    assert (await client.patch(world.url(f"/submissions/{outside}"), json=decide, headers=district)).status_code == 200
    assert (await client.get(world.url(f"/submissions/{other_district}"), headers=district)).status_code == 404

    viewer = world.headers["viewer"]
    assert (await client.get(world.url(f"/submissions/{inside}"), headers=viewer)).status_code == 200
    assert (await client.patch(world.url(f"/submissions/{inside}"), json=decide, headers=viewer)).status_code == 403
    enumerator = world.headers["enumerator"]
    assert (await client.get(world.url("/submissions"), headers=enumerator)).status_code == 403
    manager = world.headers["manager"]
    everything = await client.get(world.url("/submissions"), headers=manager)
    assert len(everything.json()) == 7


async def test_comments_and_diffs(client: AsyncTestClient[Litestar], resources: Resources, world: World) -> None:
    instance = world.households["19750"][1]
    url = world.url(f"/submissions/{instance}")
    first = await client.post(f"{url}/comments", json={"body": "Ảnh mái nhà bị mờ"}, headers=world.headers["viewer"])
    assert first.status_code == 200, first.text
    assert (first.json()["body"], first.json()["actorId"]) == ("Ảnh mái nhà bị mờ", world.user_ids["viewer"])
    await client.post(f"{url}/comments", json={"body": "Đã chụp lại"}, headers=world.headers["ward"])
    listed = (await client.get(f"{url}/comments", headers=world.headers["manager"])).json()
    assert [c["body"] for c in listed] == ["Đã chụp lại", "Ảnh mái nhà bị mờ"]
    empty = await client.post(f"{url}/comments", json={"body": "   "}, headers=world.headers["ward"])
    assert empty.status_code == 400
    from service.auth.access import access_to
    from service.auth.models import SYSTEM
    from tests.support.submission import new_instance_id

    admin = await access_to(resources, SYSTEM, world.project)
    edited_id = new_instance_id()
    xml = household("474", "19750", "19750-01", instance_id=edited_id).replace(
        b"</meta>", f"<deprecatedID>{instance}</deprecatedID></meta>".encode()
    )
    await ingest(resources, admin, xml)
    diffs = (await client.get(f"{url}/diffs", headers=world.headers["ward"])).json()
    assert diffs == {edited_id: [{"new": "19750-01", "old": "other", "path": ["g_loc", "village"]}]}


async def test_the_queue_filters_counts_and_pages(client: AsyncTestClient[Litestar], world: World) -> None:
    manager = world.headers["manager"]
    decided = world.households["19750"][0]
    await client.patch(world.url(f"/submissions/{decided}"), json={"reviewState": "approved"}, headers=manager)

    everything = (await client.get(world.url("/review/queue"), headers=manager)).json()
    assert everything["counts"] == {"received": 6, "approved": 1}
    assert len(everything["items"]) == 7
    waiting = (await client.get(world.url("/review/queue?state=received"), headers=manager)).json()
    assert decided not in {i["instanceId"] for i in waiting["items"]}
    assert waiting["counts"] == {"received": 6, "approved": 1}  # counts ignore the state filter

    district = (await client.get(world.url("/review/queue?area=474"), headers=manager)).json()
    assert len(district["items"]) == 5
    by_answer = await client.get(world.url("/review/queue?answer=/data/g_loc/commune=20044"), headers=manager)
    assert {i["communeCode"] for i in by_answer.json()["items"]} == {"20044"}

    # Paging: oldest first, no repeats.
    seen: list[str] = []
    cursor = None
    while True:
        query = "/review/queue?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(world.url(query), headers=manager)).json()
        seen += [i["instanceId"] for i in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7

    ward = world.headers["ward"]
    assert len((await client.get(world.url("/review/queue"), headers=ward)).json()["items"]) == 3
    assert (await client.get(world.url("/review/queue?area=481"), headers=ward)).status_code == 403
    assert (await client.get(world.url("/review/queue?area=19750"), headers=ward)).status_code == 200
    assert (await client.get(world.url("/review/queue?state=nope"), headers=ward)).status_code == 400


async def test_bulk_decisions_and_their_undo(
    client: AsyncTestClient[Litestar], resources: Resources, world: World
) -> None:
    district = world.headers["district"]
    bulk = await client.post(
        world.url("/review/bulk"),
        json={"reviewState": "rejected", "reason": "duplicate_household", "area": "474", "note": "đợt 1"},
        headers=district,
    )
    assert bulk.status_code == 200, bulk.text
    batch = bulk.json()["batchId"]
    assert bulk.json()["changed"] == 5  # the district's households; A Lưới's are outside the supervisor's scope
    rows = await fetch(resources, "select count(*) as n from submission_reviews where batch_id = $1::uuid", batch)
    assert rows[0]["n"] == 5
    # One of them is decided on again after the batch: the undo leaves that one alone.
    again = world.households["19753"][0]
    await client.patch(world.url(f"/submissions/{again}"), json={"reviewState": "approved"}, headers=district)
    undone = await client.post(f"/v1/projects/{world.project}/review-batches/{batch}/undo", headers=district)
    assert undone.status_code == 200, undone.text
    assert undone.json() == {"restored": 4, "kept": 1}
    states = await fetch(resources, "select instance_id, review_state from submissions")
    by_instance = {r["instance_id"]: r["review_state"] for r in states}
    assert by_instance[again] == "approved"
    assert sum(1 for state in by_instance.values() if state == "rejected") == 0
    undo_url = f"/v1/projects/{world.project}/review-batches/{batch}/undo"
    assert (await client.post(undo_url, headers=district)).json() == {"restored": 0, "kept": 1}
    unknown = f"/v1/projects/{world.project}/review-batches/00000000-0000-0000-0000-000000000000/undo"
    assert (await client.post(unknown, headers=district)).status_code == 404
    listed = await client.post(
        world.url("/review/bulk"),
        json={"reviewState": "approved", "instanceIds": world.households["20044"]},
        headers=world.headers["manager"],
    )
    assert listed.json()["changed"] == 2
    out_of_scope = await client.post(
        world.url("/review/bulk"),
        json={"reviewState": "approved", "instanceIds": world.households["20044"]},
        headers=district,
    )
    assert out_of_scope.json()["changed"] == 0


async def test_the_audit_log(client: AsyncTestClient[Litestar], world: World) -> None:
    await client.patch(
        world.url(f"/submissions/{world.households['19750'][0]}"),
        json={"reviewState": "approved"},
        headers=world.headers["ward"],
    )
    everything = await client.get("/v1/audits?limit=1000", headers=world.headers["admin"])
    actions = {a["action"] for a in everything.json()}
    assert {"project.assignment.create", "user.session.create", "submission.update", "areas.load"} <= actions
    sign_ins = await client.get("/v1/audits?action=user", headers=world.headers["admin"])
    assert all(a["action"].startswith("user.") for a in sign_ins.json())
    managed = await client.get("/v1/audits?action=submission.update", headers=world.headers["manager"])
    assert managed.status_code == 200
    assert [a["details"]["instanceId"] for a in managed.json()] == [world.households["19750"][0]]
    assert (await client.get("/v1/audits", headers=world.headers["ward"])).status_code == 403
    assert (await client.get("/v1/audits")).status_code == 401


@pytest.mark.parametrize("codes", [["99999"], ["x!"]])
async def test_areas_given_to_a_role_must_exist(
    client: AsyncTestClient[Litestar], world: World, codes: list[str]
) -> None:
    assigned = await client.post(
        f"/v1/projects/{world.project}/assignments/supervisor/{world.user_ids['viewer']}",
        json={"areaCodes": codes},
        headers=world.headers["manager"],
    )
    assert (assigned.status_code, assigned.json()["code"]) == (400, 400.8)
