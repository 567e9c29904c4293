"""Progress against the targets over HTTP on a real database: rates against imported totals and the province's
targets, changes since the status before the review, temporary houses through exit-plan actions, each role's scope,
the CSV import's errors with their line numbers, edits one by one, targets and the poor district's threshold.

The households are the review site's (tests/web/conftest.py): three in 19750 and one in 19753 (Huế city, 474),
one in 20044 (A Lưới, 481), reviewed in 2023. Their classes, status before the review and housing eligibility are
set per test."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.progress.kit import TOTALS_CSV, shape_site
from tests.review.conftest import fetch

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.resources import Resources
    from tests.web.conftest import Site


@pytest.fixture
async def shaped(resources: Resources, site: Site) -> dict[str, str]:
    return await shape_site(resources, site)


def _rows(body: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {row["code"]: row for row in body["rows"]}


async def _import(client: AsyncTestClient[Litestar], headers: dict[str, str], text: str | bytes) -> Any:
    return await client.put("/v1/areas/household-totals", content=text, headers={**headers, "Content-Type": "text/csv"})


async def test_rates_against_the_totals_and_the_targets(
    client: AsyncTestClient[Litestar], resources: Resources, site: Site, shaped: dict[str, str]
) -> None:
    manager = site.world.headers["manager"]
    imported = await _import(client, manager, TOTALS_CSV)
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"districts": 1, "communes": 3, "years": [2023]}

    answer = await client.get(f"/v1/projects/{site.project}/forms/{site.form}/progress", headers=manager)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["year"], body["years"], body["area"]) == (2023, [2023], None)
    rows = _rows(body)
    province, hue, a_luoi = rows["46"], rows["474"], rows["481"]
    assert [r["level"] for r in body["rows"][:2]] == ["province", "district"]

    # Huế city has no total of its own: the sum of its communes that have one (34 of its 36 have none).
    assert (hue["households"], hue["householdsSource"], hue["areasWithoutTotal"]) == (140, "communes", 34)
    assert (a_luoi["households"], a_luoi["householdsSource"]) == (200, "given")
    assert (province["households"], province["householdsSource"], province["areasWithoutTotal"]) == (
        340,
        "districts",
        7,
    )

    # The recognised class wins over the server's; the phone's provisional "near_poor" is never read.
    assert (hue["surveyed"], hue["poor"], hue["nearPoor"]) == (4, 3, 1)
    assert (province["surveyed"], province["poor"], province["nearPoor"], province["unclassified"]) == (5, 3, 1, 1)
    assert hue["poorRate"] == pytest.approx(100 * 3 / 140, abs=0.01)
    assert province["poorRate"] == pytest.approx(100 * 3 / 340, abs=0.01)
    assert rows["19750"]["poorRate"] == 2.0
    assert rows["19753"]["poorRate"] == 2.5
    assert rows["20044"]["poorRate"] == 0.0

    # 2023 is measured against the first target at or after it: the province's 2.2 % for the end of 2024.
    target = rows["19753"]["target"]
    assert (target["areaCode"], target["year"], target["poorRatePercent"]) == ("46", 2024, 2.2)
    assert (rows["19750"]["meetsTarget"], rows["19753"]["meetsTarget"], province["meetsTarget"]) == (True, False, True)
    assert rows["19756"]["households"] is None
    assert rows["19756"]["poorRate"] is None
    assert rows["19756"]["meetsTarget"] is None

    moved = hue["transitions"]
    assert moved == {"escapedPoverty": 1, "escapedNearPoverty": 0, "fellBack": 1, "newlyPoor": 1, "newlyNearPoor": 0}
    assert rows["20044"]["transitions"]["escapedNearPoverty"] == 0  # unclassified never moves

    # A Lưới is followed as a poor district (2022 to 2024); its exit threshold is unknown until someone sets it.
    listing = a_luoi["poorDistrict"]
    assert (listing["listedFrom"], listing["listedUntil"], listing["listed"]) == (2022, 2024, True)
    assert listing["exitPoorRatePercent"] is None
    assert listing["belowExitRate"] is None
    assert rows["474"]["poorDistrict"] is None

    # Another year: no households, the same denominators only if given for it.
    later = await client.get(
        f"/v1/projects/{site.project}/forms/{site.form}/progress", params={"year": 2025}, headers=manager
    )
    later_rows = _rows(later.json())
    assert later_rows["46"]["surveyed"] == 0
    assert later_rows["46"]["households"] is None
    assert later_rows["46"]["target"]["year"] == 2025


async def test_temporary_houses_eligible_supported_finished_and_still_standing(
    client: AsyncTestClient[Litestar], resources: Resources, site: Site, shaped: dict[str, str]
) -> None:
    manager = site.world.headers["manager"]
    base = f"/v1/projects/{site.project}/forms/{site.form}"

    async def act(instance: str, **action: Any) -> None:
        plan = f"{base}/submissions/{instance}/plan"
        assert (await client.put(plan, json={"ownerName": "Cán bộ xã"}, headers=manager)).status_code == 200
        added = await client.post(
            f"{plan}/actions", json={"supportType": "housing", "description": "Nhà ở", **action}, headers=manager
        )
        assert added.status_code == 200, added.text

    await act(shaped["escaped"], amountVnd=40_000_000, doneOn="2023-12-01")  # a new house, built
    await act(shaped["fell_back"], amountVnd=20_000_000)  # a repair, not done yet
    await act(shaped["still_poor"])  # no amount: the answer says (none given here: unknown kind)
    async with resources.pool.acquire() as conn:
        await conn.execute(
            """update submission_versions v
            set answers = jsonb_set(v.answers, '{g_house,house_support_need}', '"repair"')
            from submissions s where s.current_version_id = v.id and s.instance_id = $1""",
            shaped["still_poor"],
        )
    rows = _rows((await client.get(f"{base}/progress", headers=manager)).json())
    assert rows["19750"]["housing"] == {
        "eligible": 2,
        "supported": 2,
        "supportedNew": 1,
        "supportedRepair": 1,
        "finished": 1,
        "stillStanding": 1,
        "amountVnd": 60_000_000,
    }
    assert rows["19753"]["housing"]["supportedRepair"] == 1  # by the household's answer
    assert rows["46"]["housing"]["stillStanding"] == 2


async def test_each_role_sees_its_own_areas(
    client: AsyncTestClient[Litestar], site: Site, shaped: dict[str, str]
) -> None:
    url = f"/v1/projects/{site.project}/forms/{site.form}/progress"
    headers = site.world.headers

    ward = _rows((await client.get(url, headers=headers["ward"])).json())
    assert list(ward) == ["19750"]  # the commune only: no partial district, no province
    assert ward["19750"]["surveyed"] == 3
    assert list(_rows((await client.get(url, headers=headers["viewer"])).json())) == ["19750"]

    district = (await client.get(url, headers=headers["district"])).json()
    assert district["rows"][0]["code"] == "474"
    assert {row["parentCode"] for row in district["rows"][1:]} == {"474"}
    assert len(district["rows"]) == 1 + 36
    assert district["rows"][0]["surveyed"] == 4

    chosen = (await client.get(url, params={"area": "474"}, headers=headers["manager"])).json()
    assert [r["code"] for r in chosen["rows"][:2]] == ["474", "19750"]
    assert len(chosen["rows"]) == 37
    commune = (await client.get(url, params={"area": "19753"}, headers=headers["district"])).json()
    assert [r["code"] for r in commune["rows"]] == ["19753"]

    assert (await client.get(url, params={"area": "474"}, headers=headers["ward"])).status_code == 403
    assert (await client.get(url, params={"area": "99999"}, headers=headers["manager"])).status_code == 404
    assert (await client.get(url, headers=headers["enumerator"])).status_code == 403
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, params={"year": 1999}, headers=headers["manager"])).status_code == 400


async def test_the_csv_of_the_same_figures(
    client: AsyncTestClient[Litestar], site: Site, shaped: dict[str, str]
) -> None:
    manager = site.world.headers["manager"]
    await _import(client, manager, TOTALS_CSV)
    answer = await client.get(f"/v1/projects/{site.project}/forms/{site.form}/progress.csv", headers=manager)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert f"{site.form}-progress-2023.csv" in answer.headers["content-disposition"]
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeffyear,level,area_code,")
    lines = text.splitlines()
    assert len(lines) == 1 + 1 + 9 + 141
    province = dict(zip(lines[0].lstrip("\ufeff").split(","), lines[1].split(","), strict=True))
    assert province["poor_rate_percent"] == "0.88"
    assert province["target_poor_rate_percent"] == "2.2"
    assert province["meets_target"] == "yes"
    assert province["households"] == "340"


async def test_import_errors_name_their_line(
    client: AsyncTestClient[Litestar], resources: Resources, site: Site
) -> None:
    manager = site.world.headers["manager"]
    cases: list[tuple[str | bytes, int, str]] = [
        ("code,year,households\n19750,2023,10\n", 1, "the header must name the columns"),
        ("area_code,year,households\n19750,2023,10\n19753,2023,12.345\n", 3, "households must be a whole number"),
        ("area_code,year,households\n19750,23,10\n", 2, "year must be a whole number"),
        ("area_code,year,households\n19750,2023,10\n\n99999,2023,5\n", 4, "area 99999 is not a known area"),
        ("area_code,year,households\n46,2023,10\n", 2, "area 46 is a province"),
        ("area_code,year,households\n19750,2023,10\n19750,2023,11\n", 3, "already on line 2"),
        ("area_code,year,households\n19750,2023\n", 2, "fewer than the header's columns"),
        ("area_code,year,households\n", 1, "no rows"),
        (b"area_code,year,households\n19750,2023,\xff\n", 1, "not UTF-8"),
    ]
    for body, line, words in cases:
        refused = await _import(client, manager, body)
        assert refused.status_code == 400, (body, refused.text)
        problem = refused.json()
        assert problem["code"] == 400.8
        assert problem["details"]["line"] == line, (body, problem)
        assert f"line {line}: " in problem["message"], (body, problem["message"])
        assert words in problem["message"], (body, problem["message"])
    several = await _import(client, manager, "area_code,year,households\n1,x,1\n2,2023,y\n")
    assert [p["line"] for p in several.json()["details"]["problems"]] == [2, 3]
    assert await fetch(resources, "select * from area_household_totals") == []  # nothing of a bad file is kept
    oversized = "area_code,year,households\n" + "19750,2023,10\n" * 200_000  # 2.8 MB, over the 2 MiB cap
    too_big = await _import(client, manager, oversized)
    assert too_big.status_code == 413, too_big.text
    assert await fetch(resources, "select * from area_household_totals") == []

    # Who may: admins and managers; not supervisors, viewers or app users.
    for who in ("ward", "district", "viewer", "enumerator"):
        assert (await _import(client, site.world.headers[who], TOTALS_CSV)).status_code == 403, who
    assert (await _import(client, {}, TOTALS_CSV)).status_code == 401
    assert (await _import(client, site.world.headers["admin"], TOTALS_CSV)).status_code == 200


async def test_totals_edited_one_by_one(
    client: AsyncTestClient[Litestar], resources: Resources, site: Site, shaped: dict[str, str]
) -> None:
    manager, district = site.world.headers["manager"], site.world.headers["district"]
    one = "/v1/areas/19750/household-totals/2023"
    changed = await client.patch(one, json={"households": 120}, headers=manager)
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in ("areaCode", "year", "households")} == {
        "areaCode": "19750",
        "year": 2023,
        "households": 120,
    }
    listed = await client.get("/v1/areas/household-totals", params={"year": 2023}, headers=district)
    assert [(t["areaCode"], t["households"]) for t in listed.json()] == [("19750", 120)]
    url = f"/v1/projects/{site.project}/forms/{site.form}/progress"
    assert _rows((await client.get(url, headers=manager)).json())["19750"]["households"] == 120

    assert (await client.patch(one, json={"households": -1}, headers=manager)).status_code == 400
    assert (await client.patch(one, json={"households": 5, "x": 1}, headers=manager)).status_code == 400
    assert (await client.patch(one, json={"households": 5}, headers=district)).status_code == 403
    assert (
        await client.patch("/v1/areas/99999/household-totals/2023", json={"households": 5}, headers=manager)
    ).status_code == 404
    assert (
        await client.patch("/v1/areas/46/household-totals/2023", json={"households": 5}, headers=manager)
    ).status_code == 400
    assert (
        await client.patch("/v1/areas/19750/household-totals/1800", json={"households": 5}, headers=manager)
    ).status_code == 400

    assert (await client.delete(one, headers=manager)).status_code == 204
    assert (await client.delete(one, headers=manager)).status_code == 404
    audits = await fetch(resources, "select details from audits where action = 'areas.household_total' order by id")
    assert [audit["details"]["households"] for audit in audits] == [120, None]


async def test_targets_and_the_poor_district_threshold_are_data(
    client: AsyncTestClient[Litestar], site: Site, shaped: dict[str, str]
) -> None:
    admin, manager = site.world.headers["admin"], site.world.headers["manager"]
    seeded = (await client.get("/v1/areas/targets", headers=manager)).json()
    assert [(t["areaCode"], t["year"], t["poorRatePercent"]) for t in seeded] == [("46", 2024, 2.2), ("46", 2025, 1.84)]

    own = {"poorRatePercent": 20.0, "source": "Nghị quyết huyện (ví dụ)"}
    assert (await client.put("/v1/areas/481/targets/2023", json=own, headers=manager)).status_code == 403
    assert (await client.put("/v1/areas/481/targets/2023", json={}, headers=admin)).status_code == 400
    assert (
        await client.put("/v1/areas/481/targets/2023", json={"poorRatePercent": 101}, headers=admin)
    ).status_code == 400
    assert (await client.put("/v1/areas/481/targets/2023", json=own, headers=admin)).status_code == 200

    threshold = {"listedFrom": 2022, "listedUntil": 2024, "exitPoorRatePercent": 10.0, "exitRuleNote": "giả định"}
    assert (await client.put("/v1/areas/481/poor-district", json=threshold, headers=manager)).status_code == 403
    set_ = await client.put("/v1/areas/481/poor-district", json=threshold, headers=admin)
    assert set_.status_code == 200, set_.text

    await _import(client, manager, TOTALS_CSV)
    rows = _rows((await client.get(f"/v1/projects/{site.project}/forms/{site.form}/progress", headers=manager)).json())
    a_luoi = rows["481"]
    assert (a_luoi["target"]["areaCode"], a_luoi["target"]["year"], a_luoi["target"]["poorRatePercent"]) == (
        "481",
        2023,
        20.0,
    )
    assert a_luoi["meetsTarget"] is True
    assert rows["20044"]["target"]["areaCode"] == "481"  # a commune follows its district's own target
    assert a_luoi["poorDistrict"]["exitPoorRatePercent"] == 10.0
    assert a_luoi["poorDistrict"]["belowExitRate"] is True  # 0 poor of 200

    assert (await client.delete("/v1/areas/481/targets/2023", headers=admin)).status_code == 204
    assert (await client.delete("/v1/areas/481/targets/2023", headers=admin)).status_code == 404
