"""The classification on a real database: computed at ingest and again on edit, stored on the household next to the
phone's provisional result, and filtered on in the review queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.bootstrap import ensure_example_forms
from service.projects.service import ensure_default_project
from tests.support.households import ingest, publish_household_form
from tests.support.poverty import FORM_ID, household, submission_xml
from tests.support.submission import new_instance_id

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.auth.access import Access
    from service.resources import Resources


@pytest.fixture
async def project(resources: Resources) -> int:
    project_id = await ensure_default_project(resources, "Province")
    assert await ensure_example_forms(resources, project_id) == [FORM_ID]
    return project_id


@pytest.fixture
async def admin(resources: Resources, project: int) -> Access:
    return await access_to(resources, SYSTEM, project)


async def stored(resources: Resources, instance_id: str) -> dict[str, Any]:
    async with resources.pool.acquire() as conn:
        row = await conn.fetchrow(
            """select classification, classification_detail, provisional_classification, classification_mismatch
            from submissions where instance_id = $1""",
            instance_id,
        )
    assert row is not None
    return dict(row)


async def test_ingest_and_edit_store_the_classification(resources: Resources, admin: Access) -> None:
    first = new_instance_id()
    await ingest(resources, admin, submission_xml(household(), instance_id=first))
    created = await stored(resources, first)
    assert (created["classification"], created["provisional_classification"]) == ("near_poor", "near_poor")
    assert created["classification_mismatch"] is False
    detail = created["classification_detail"]
    assert detail["incomePerCapitaMonth"] == 250_000
    assert (detail["area"], detail["povertyLine"]) == ("rural", 1_500_000)  # from the form's own commune list
    assert detail["deprivations"] == ["d07", "d09"]
    assert detail["tempHouse2023"] == {"eligible": True, "reasons": ["non_durable_structures"], "missing": []}

    # The edit no member of the household uses the internet: a third deprivation, and the phone agrees.
    edit = new_instance_id()
    edited_answers = household(internet_use="no", provisional="poor")
    result = await ingest(resources, admin, submission_xml(edited_answers, instance_id=edit, deprecated_id=first))
    assert result.outcome == "edited"
    after = await stored(resources, first)
    assert (after["classification"], after["provisional_classification"], after["classification_mismatch"]) == (
        "poor",
        "poor",
        False,
    )
    assert after["classification_detail"]["deprivations"] == ["d07", "d09", "d11"]


async def test_a_phone_that_disagrees_is_flagged(resources: Resources, admin: Access) -> None:
    # An old phone counted an unanswered income as 0 and said "poor"; the server cannot classify it.
    instance = new_instance_id()
    answers = household(income={"inc_wage": None}, internet_use="no", provisional="poor")
    await ingest(resources, admin, submission_xml(answers, instance_id=instance))
    row = await stored(resources, instance)
    assert (row["classification"], row["provisional_classification"], row["classification_mismatch"]) == (
        "unclassified",
        "poor",
        True,
    )
    assert row["classification_detail"]["missing"] == [
        {"answer": "inc_wage", "reason": "unanswered", "neededFor": "income"}
    ]


async def test_forms_without_the_fields_are_not_classified(resources: Resources, admin: Access) -> None:
    await publish_household_form(resources, admin)
    result = await ingest(resources, admin)
    async with resources.pool.acquire() as conn:
        row = await conn.fetchrow(
            "select classification, classification_detail, classification_mismatch from submissions where id = $1",
            result.submission_id,
        )
    assert dict(row or {}) == {"classification": None, "classification_detail": None, "classification_mismatch": None}


async def test_the_review_queue_filters_by_classification_and_mismatch(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str], resources: Resources, admin: Access, project: int
) -> None:
    households = {
        "near_poor": household(),
        "poor": household(internet_use="no", provisional="poor"),
        "mismatch": household(income_known="refused", provisional="poor"),
        "screened": household(screen_signs=["car"], provisional="screened_out"),
    }
    ids = {}
    for name, answers in households.items():
        ids[name] = new_instance_id()
        await ingest(resources, admin, submission_xml(answers, instance_id=ids[name]))
    url = f"/v1/projects/{project}/forms/{FORM_ID}/review/queue"

    async def queue(query: str) -> list[dict[str, Any]]:
        response = await client.get(f"{url}?{query}", headers=admin_headers)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    [poor] = await queue("classification=poor")
    assert poor["instanceId"] == ids["poor"]
    assert poor["classificationDetail"]["deprivations"] == ["d07", "d09", "d11"]
    [flagged] = await queue("mismatch=true")
    assert flagged["instanceId"] == ids["mismatch"]
    assert (flagged["classification"], flagged["provisionalClassification"]) == ("unclassified", "poor")
    assert flagged["classificationMismatch"] is True
    assert {i["instanceId"] for i in await queue("mismatch=false")} == {ids["near_poor"], ids["poor"], ids["screened"]}
    assert [i["instanceId"] for i in await queue("classification=screened_out&state=received")] == [ids["screened"]]
    refused = await client.get(f"{url}?classification=rich", headers=admin_headers)
    assert refused.status_code == 400

    # A bulk decision selects by the same filters.
    bulk = await client.post(
        f"/v1/projects/{project}/forms/{FORM_ID}/review/bulk",
        json={"reviewState": "hasIssues", "reason": "income_implausible", "mismatch": True},
        headers=admin_headers,
    )
    assert bulk.status_code == 200, bulk.text
    assert bulk.json()["changed"] == 1
    [decided] = await queue("state=hasIssues")
    assert decided["instanceId"] == ids["mismatch"]


async def test_the_classification_reaches_exports_and_the_central_copy(
    client: AsyncTestClient[Litestar], resources: Resources, admin: Access, project: int, pg_server_url: str
) -> None:
    import csv
    import io

    import asyncpg

    from service.auth.service import create_user, login
    from service.sync.service import sync
    from tests.support.db import create_database, drop_database, with_database

    instance = new_instance_id()
    await ingest(resources, admin, submission_xml(household(provisional="poor"), instance_id=instance))
    await create_user(resources, SYSTEM, email="boss@example.org", password="a long password 3", is_admin=True)
    token = (await login(resources, email="boss@example.org", password="a long password 3")).token
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/v1/projects/{project}/forms/{FORM_ID}/submissions"
    [row] = list(csv.DictReader(io.StringIO((await client.get(f"{url}.csv", headers=headers)).text)))
    assert (row["Classification"], row["ClassificationMismatch"]) == ("near_poor", "true")
    [feature] = (await client.get(f"{url}.geojson", headers=headers)).json()["features"]
    assert (feature["properties"]["classification"], feature["properties"]["tempHouse2023"]) == ("near_poor", True)

    name = await create_database(pg_server_url, "template0")
    target = with_database(pg_server_url, name)
    try:
        await sync(resources, target, project_id=project, xml_form_ids=[FORM_ID])
        conn = await asyncpg.connect(target)
        try:
            copied = await conn.fetchrow(
                "select h.classification, h.provisional_classification, h.classification_mismatch, v.temp_house_2023 "
                "from survey_sync.households h join survey_sync.housing v using (project_id, xml_form_id, instance_id)"
            )
        finally:
            await conn.close()
        assert copied is not None
        assert tuple(copied) == ("near_poor", "poor", True, True)
    finally:
        await drop_database(pg_server_url, name)
