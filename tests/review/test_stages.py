"""The legal stages of the review over HTTP on a real database (Decision 24/2021): one household through every stage
with the right roles, one through a failed village meeting back to re-review and an edit, steps for many households
at once (all or nothing), the checks on each step's facts, and the scope of each role."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.settings import Settings
from tests.areas.test_areas import household
from tests.review.conftest import fetch
from tests.support.households import ingest
from tests.support.submission import new_instance_id

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.resources import Resources
    from tests.review.conftest import World

TODAY = Settings().local_today()
MEETING = {"stage": "meeting", "meetingDate": str(TODAY - timedelta(days=10)), "attendees": 42}
POSTING = {
    "stage": "posted",
    "postedFrom": str(TODAY - timedelta(days=8)),
    "postedUntil": str(TODAY - timedelta(days=5)),
    "complaints": 0,
}
DECISION = {
    "stage": "recognised",
    "decisionNumber": "125/QĐ-UBND",
    "decisionDate": str(TODAY - timedelta(days=2)),
    "finalClassification": "poor",
}


async def test_one_household_through_every_stage_with_the_right_roles(
    client: AsyncTestClient[Litestar], resources: Resources, world: World
) -> None:
    instance = world.households["19750"][0]
    url = world.url(f"/submissions/{instance}")
    ward, manager, viewer = world.headers["ward"], world.headers["manager"], world.headers["viewer"]

    start = await client.get(f"{url}/stages", headers=viewer)
    assert start.status_code == 200, start.text
    assert (start.json()["stage"], start.json()["history"]) == ("surveyed", [])
    assert (await client.get(url, headers=viewer)).json()["stage"] == "surveyed"

    refused = await client.post(f"{url}/stages", json={**MEETING, "agreementPercent": 75}, headers=viewer)
    assert refused.status_code == 403
    early = await client.post(f"{url}/stages", json=POSTING, headers=ward)
    assert (early.status_code, early.json()["code"]) == (409, 409.52)
    assert early.json()["details"]["households"][0]["stage"] == "surveyed"

    met = await client.post(f"{url}/stages", json={**MEETING, "agreementPercent": 75}, headers=ward)
    assert met.status_code == 200, met.text
    assert met.json()["stage"] == "meeting"
    posted = await client.post(f"{url}/stages", json=POSTING, headers=ward)
    assert posted.json()["stage"] == "posted", posted.text

    # Recognition is the commune's decision (managers), and only for a household whose evidence was approved.
    by_supervisor = await client.post(f"{url}/stages", json=DECISION, headers=ward)
    assert by_supervisor.status_code == 403
    unapproved = await client.post(f"{url}/stages", json=DECISION, headers=manager)
    assert (unapproved.status_code, unapproved.json()["code"]) == (409, 409.52)
    assert "approved" in unapproved.json()["message"]
    approve = await client.patch(url, json={"reviewState": "approved"}, headers=ward)
    assert approve.status_code == 200
    recognised = await client.post(f"{url}/stages", json=DECISION, headers=manager)
    assert recognised.status_code == 200, recognised.text
    body = recognised.json()
    assert (body["stage"], body["finalClassification"]) == ("recognised", "poor")
    assert [(e["fromStage"], e["toStage"]) for e in body["history"]] == [
        ("surveyed", "meeting"),
        ("meeting", "posted"),
        ("posted", "recognised"),
    ]
    meeting, posting, decision = body["history"]
    assert (meeting["agreementPercent"], meeting["attendees"], meeting["actorName"]) == (75.0, 42, "ward@example.org")
    assert (posting["complaints"], posting["postedUntil"]) == (0, POSTING["postedUntil"])
    assert (decision["decisionNumber"], decision["actorId"]) == ("125/QĐ-UBND", world.user_ids["manager"])

    final = await client.post(f"{url}/stages", json={"stage": "re_review", "note": "khiếu nại"}, headers=manager)
    assert (final.status_code, final.json()["code"]) == (409, 409.52)
    assert "final" in final.json()["message"]
    shown = (await client.get(url, headers=viewer)).json()
    assert (shown["stage"], shown["finalClassification"]) == ("recognised", "poor")

    audits = await fetch(
        resources,
        "select action, details from audits where action like 'submission.stage%' order by id",
    )
    assert [(a["action"], a["details"]["stage"]) for a in audits] == [
        ("submission.stage", "meeting"),
        ("submission.stage", "posted"),
        ("submission.stage", "recognised"),
    ]
    feed = await client.get(world.url("/changes"), headers=manager)
    kinds = [(c["kind"], c.get("details", {}).get("stage")) for c in feed.json()["changes"] if c["kind"] == "stage"]
    assert kinds == [("stage", "meeting"), ("stage", "posted"), ("stage", "recognised")]


async def test_a_failed_meeting_sends_the_household_back_until_its_edit_arrives(
    client: AsyncTestClient[Litestar], resources: Resources, world: World
) -> None:
    instance = world.households["19750"][1]
    url, ward = world.url(f"/submissions/{instance}"), world.headers["ward"]

    failed = await client.post(f"{url}/stages", json={**MEETING, "agreementPercent": 49.99}, headers=ward)
    assert failed.json()["stage"] == "re_review", failed.text
    again = await client.post(f"{url}/stages", json={**MEETING, "agreementPercent": 90}, headers=ward)
    assert (again.status_code, again.json()["code"]) == (409, 409.52)
    posting = await client.post(f"{url}/stages", json=POSTING, headers=ward)
    assert posting.status_code == 409

    admin = await access_to(resources, SYSTEM, world.project)
    edit = household("474", "19750", "other", instance_id=new_instance_id()).replace(
        b"</instanceID>", f"</instanceID><deprecatedID>{instance}</deprecatedID>".encode(), 1
    )
    assert (await ingest(resources, admin, edit)).outcome == "edited"
    reopened = (await client.get(f"{url}/stages", headers=ward)).json()
    assert reopened["stage"] == "surveyed"
    assert [(e["fromStage"], e["toStage"]) for e in reopened["history"]] == [
        ("surveyed", "re_review"),
        ("re_review", "surveyed"),
    ]
    passed = await client.post(f"{url}/stages", json={**MEETING, "agreementPercent": 50}, headers=ward)
    assert passed.json()["stage"] == "meeting", passed.text

    # Sent back by hand (a complaint upheld at the posting) needs a note; re-reviewed without changes too.
    no_note = await client.post(f"{url}/stages", json={"stage": "re_review"}, headers=ward)
    assert (no_note.status_code, no_note.json()["code"]) == (400, 400.2)
    back = await client.post(f"{url}/stages", json={"stage": "re_review", "note": "khiếu nại đúng"}, headers=ward)
    assert back.json()["stage"] == "re_review"
    same = await client.post(
        f"{url}/stages", json={"stage": "surveyed", "note": "rà soát lại, không đổi"}, headers=ward
    )
    assert same.json()["stage"] == "surveyed"


async def test_a_village_meeting_for_many_households_at_once_all_or_nothing(
    client: AsyncTestClient[Litestar], resources: Resources, world: World
) -> None:
    ward = world.headers["ward"]
    first, second, third = world.households["19750"]
    meeting = {**MEETING, "agreementPercent": 80, "instanceIds": [first, second, third], "agreements": {third: 30}}
    done = await client.post(world.url("/stages"), json=meeting, headers=ward)
    assert done.status_code == 200, done.text
    assert (done.json()["changed"], done.json()["stages"]) == (3, {"meeting": 2, "re_review": 1})

    # One household cannot be posted: nothing is.
    posting = {**POSTING, "instanceIds": [first, second, third]}
    refused = await client.post(world.url("/stages"), json=posting, headers=ward)
    assert (refused.status_code, refused.json()["code"]) == (409, 409.52)
    assert [h["instanceId"] for h in refused.json()["details"]["households"]] == [third]
    rows = await fetch(resources, "select stage, count(*) as n from submissions group by 1 order by 1")
    assert {r["stage"]: r["n"] for r in rows}["meeting"] == 2

    # A household outside the supervisor's commune is as unknown as one that does not exist.
    elsewhere = world.households["19753"][0]
    outside = await client.post(world.url("/stages"), json={**posting, "instanceIds": [first, elsewhere]}, headers=ward)
    assert (outside.status_code, outside.json()["code"]) == (400, 400.8)
    single = await client.post(world.url(f"/submissions/{elsewhere}/stages"), json=POSTING, headers=ward)
    assert single.status_code == 404
    assert (await client.get(world.url(f"/submissions/{elsewhere}/stages"), headers=ward)).status_code == 404

    # More households than one step may take, or none: refused before anything is looked at.
    for ids in ([f"uuid:{n}" for n in range(5001)], []):
        too_many = await client.post(world.url("/stages"), json={**POSTING, "instanceIds": ids}, headers=ward)
        assert (too_many.status_code, too_many.json()["code"]) == (400, 400.8)
    unauthorised = await client.post(world.url("/stages"), json={**POSTING, "instanceIds": [first]})
    assert unauthorised.status_code == 401

    posted = await client.post(world.url("/stages"), json={**POSTING, "instanceIds": [first, second]}, headers=ward)
    assert posted.json()["stages"] == {"posted": 2}, posted.text
    steps = await fetch(resources, "select count(distinct batch_id) as batches from submission_stages")
    assert steps[0]["batches"] == 2


async def test_each_step_checks_its_facts(client: AsyncTestClient[Litestar], world: World) -> None:
    instance = world.households["19750"][0]
    url, ward = world.url(f"/submissions/{instance}/stages"), world.headers["ward"]
    tomorrow = str(TODAY + timedelta(days=1))
    for body, code in (
        ({"stage": "bogus"}, 400.8),
        ({"stage": "meeting", "meetingDate": str(TODAY)}, 400.2),
        ({"stage": "meeting", "meetingDate": tomorrow, "agreementPercent": 60}, 400.8),
        ({"stage": "meeting", "meetingDate": str(TODAY), "agreementPercent": 101}, 400.8),
        ({"stage": "meeting", "meetingDate": "yesterday", "agreementPercent": 60}, 400),
        ({"stage": "meeting", "meetingDate": str(TODAY), "agreementPercent": 60, "surprise": 1}, 400),
    ):
        answer = await client.post(url, json=body, headers=ward)
        assert answer.status_code == 400, (body, answer.text)
        if isinstance(code, float):
            assert answer.json()["code"] == code, (body, answer.text)
    assert (await client.post(url, json={**MEETING, "agreementPercent": 60}, headers=ward)).status_code == 200
    for body in (
        {**POSTING, "complaints": 2},  # complaints need a note
        {**POSTING, "postedUntil": str(TODAY - timedelta(days=9))},  # ends before it starts
        {**POSTING, "complaints": -1},
    ):
        answer = await client.post(url, json=body, headers=ward)
        assert answer.status_code == 400, (body, answer.text)
    before_meeting = {**POSTING, "postedFrom": str(TODAY - timedelta(days=11))}
    answer = await client.post(url, json=before_meeting, headers=ward)
    assert (answer.status_code, answer.json()["code"]) == (409, 409.52)
    with_complaints = {**POSTING, "complaints": 2, "note": "2 ý kiến, đã giải quyết"}
    assert (await client.post(url, json=with_complaints, headers=ward)).status_code == 200
