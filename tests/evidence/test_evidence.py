"""Every evidence rule, end to end: households ingested with real photos, the real worker (`python -m service worker`,
a child process) analysing them on the local store and on S3 (moto), checks read back from PostgreSQL and the API.

One scenario per store (module scope), built once: households near the house and far from it, with and without EXIF,
rotated, truncated, a bomb header, an identical copy and a recompressed, resized near-copy under other households,
bad geopoints, photos missing, a household 5 km from its commune's others, and one in another commune's polygon.
"""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import AsyncTestClient
from PIL import Image

from service.app import create_app
from service.auth.models import SYSTEM
from service.auth.service import create_user
from service.projects.service import assign_role
from service.resources import open_resources
from tests.conftest import make_settings
from tests.evidence.kit import FORM_ID, FRONT, ROOF, ZONE, Household, fetch, forget_schemas, publish, submit
from tests.support.db import create_database, drop_database, with_database
from tests.support.photos import bomb_png, exif_time, move, near_copy, photo, truncated
from tests.support.s3 import ACCESS_KEY, SECRET_KEY
from tests.support.worker import run_worker

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from litestar import Litestar

    from service.resources import Resources
    from service.settings import Settings

# Huế: commune C around P0, commune D around P1 (10 km north). Districts hold both.
P0 = (16.4637, 107.5909)
P1 = move(*P0, north_m=10_000)
C, D, DISTRICT = "19753", "19771", "474"
ADMIN = ("evidence-admin@example.org", "a long admin password")
SUPERVISOR_D = ("sup-d@example.org", "a long supervisor password")


@dataclass
class Scenario:
    settings: Settings
    ids: dict[str, int]
    instances: dict[str, str]
    worker_log: str
    front_of_good: bytes


def _boundaries(path: Path) -> Path:
    def square(centre: tuple[float, float], half_m: float) -> list[list[float]]:
        south, west = move(*centre, north_m=-half_m, east_m=-half_m)
        north, east = move(*centre, north_m=half_m, east_m=half_m)
        return [[west, south], [east, south], [east, north], [west, north], [west, south]]

    features = [
        {"type": "Feature", "properties": {"code": code}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
        for code, ring in ((C, square(P0, 6000)), (D, square(P1, 3000)))
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _households(now: datetime) -> list[Household]:
    start, end = now - timedelta(minutes=40), now - timedelta(minutes=5)
    during = exif_time(now - timedelta(minutes=20), ZONE)

    def point(lat_lon: tuple[float, float], accuracy: float = 5.0) -> tuple[float, float, float, float]:
        return (lat_lon[0], lat_lon[1], 12.0, accuracy)

    def near(lat_lon: tuple[float, float], seed: int, **extra: Any) -> bytes:
        return photo(seed, gps=move(*lat_lon, north_m=15), gps_accuracy=5.0, taken=during, offset="+07:00", **extra)

    def h(name: str, at: tuple[float, float], commune: str | None = C, **fields: Any) -> Household:
        return Household(name=name, point=point(at), start=start, end=end, commune=commune, district=DISTRICT, **fields)

    good_front = near(P0, 1)
    at = {
        name: move(*P0, north_m=n, east_m=e)
        for name, (n, e) in {
            "noexif": (200, 0),
            "rotated": (0, -150),
            "far": (100, 100),
            "times": (-100, 0),
            "future": (-200, 50),
            "copy": (50, 50),
            "lowacc": (-50, -50),
            "zeroacc": (150, 150),
        }.items()
    }
    households = [
        h(
            "good",
            P0,
            files={
                FRONT: good_front,
                # No offset in the EXIF: read in the project's zone.
                ROOF: photo(2, gps=move(*P0, east_m=10), taken=during),
            },
        ),
        h(
            "noexif",
            at["noexif"],
            files={
                FRONT: photo(3, exif=False),
                ROOF: photo(4, taken=during, offset="+07:00"),  # EXIF, but no GPS
            },
        ),
        h("rotated", at["rotated"], roof=None, files={FRONT: near(at["rotated"], 5, orientation=6)}),
        h(
            "far",
            at["far"],
            roof=None,
            files={
                FRONT: photo(6, gps=move(*at["far"], north_m=3000), gps_accuracy=5.0, taken=during, offset="+07:00"),
            },
        ),
        h(
            "times",
            at["times"],
            files={
                FRONT: photo(7, gps=at["times"], taken=exif_time(now - timedelta(days=10), ZONE), offset="+07:00"),
                ROOF: photo(8, gps=at["times"], taken="1970:01:01 08:00:00"),
            },
        ),
        h(
            "future",
            at["future"],
            roof=None,
            files={
                FRONT: photo(9, gps=at["future"], taken=exif_time(now + timedelta(days=1), ZONE), offset="+07:00"),
            },
        ),
        h("copy", at["copy"], roof=None, files={FRONT: good_front}),
        h("similar", P1, commune=D, roof=None, files={FRONT: near_copy(good_front)}),
        # The roof photo is named but never sent; the front one is cut in half.
        h("damaged", move(*P1, north_m=100), commune=D, files={FRONT: truncated(near(P1, 10))}),
        h("bomb", move(*P1, north_m=-100), commune=D, roof=None, files={FRONT: bomb_png(9000, 9000)}),
        h("required", move(*P1, east_m=100), commune=D, front=None, roof=None),
        h("lowacc", at["lowacc"], roof=None, files={FRONT: near(at["lowacc"], 11)}),
        h("zeroacc", at["zeroacc"], roof=None, files={FRONT: near(at["zeroacc"], 12)}),
        h("outside", (21.0285, 105.8542), commune=None, roof=None, files={FRONT: near((21.0285, 105.8542), 13)}),
        # 5 km east of its commune's others (still inside the commune's polygon).
        h("outlier", move(*P0, east_m=5000), roof=None, files={FRONT: near(move(*P0, east_m=5000), 14)}),
        # Declares commune C but stands in commune D's polygon.
        h("elsewhere", move(*P1, north_m=-300), roof=None, files={FRONT: near(move(*P1, north_m=-300), 15)}),
    ]
    for household in households:
        if household.name == "lowacc":
            household.point = (*household.point[:3], 80.0) if household.point else None
        if household.name == "zeroacc":
            household.point = (*household.point[:3], 0.0) if household.point else None
        if household.name == "outside":
            household.commune = None
    return households


async def _seed(settings: Settings) -> tuple[dict[str, int], dict[str, str], bytes]:
    # Intake accepted the 81-megapixel bomb header (its limit was higher then); the worker's limit is 60 MP.
    async with open_resources(settings.with_changes(max_image_pixels=100_000_000)) as res:
        access = await publish(res)
        ids, instances = {}, {}
        households = _households(datetime.now(UTC))
        for household in households:
            result = await submit(res, access, household)
            ids[household.name] = result.submission_id
            instances[household.name] = household.instance_id
        await create_user(res, SYSTEM, email=ADMIN[0], password=ADMIN[1], is_admin=True)
        supervisor = await create_user(res, SYSTEM, email=SUPERVISOR_D[0], password=SUPERVISOR_D[1])
        await assign_role(res, access, user_id=supervisor.id, role="supervisor", area_codes=[D])
    forget_schemas()
    return ids, instances, households[0].files[FRONT]


@pytest.fixture(scope="module", params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def scenario(
    request: pytest.FixtureRequest, pg_server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    name = asyncio.run(create_database(pg_server_url, template_db))
    tmp = tmp_path_factory.mktemp(f"evidence-{request.param}")
    settings = make_settings(
        with_database(pg_server_url, name),
        tmp,
        evidence_commune_boundaries=str(_boundaries(tmp / "communes.geojson")),
    )
    if request.param == "s3":
        moto = request.getfixturevalue("moto")
        if not moto.running:
            moto.restart()
        bucket = f"evidence-{uuid.uuid4().hex[:12]}"
        moto.create_bucket(bucket)
        settings = settings.with_changes(
            media_backend="s3",
            s3_endpoint_url=moto.endpoint,
            s3_bucket=bucket,
            s3_access_key_id=ACCESS_KEY,
            s3_secret_access_key=SECRET_KEY,
        )
    ids, instances, front = asyncio.run(_seed(settings))
    log = run_worker(settings, kinds="photo,evidence", log=tmp / "worker.log")
    yield Scenario(settings, ids, instances, log, front)
    asyncio.run(drop_database(pg_server_url, name))


@pytest.fixture
async def res(scenario: Scenario) -> AsyncIterator[Resources]:
    async with open_resources(scenario.settings) as opened:
        yield opened


@pytest.fixture
async def client(scenario: Scenario) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(scenario.settings)) as test_client:
        yield test_client


async def _headers(client: AsyncTestClient[Litestar], who: tuple[str, str]) -> dict[str, str]:
    response = await client.post("/v1/sessions", json={"email": who[0], "password": who[1]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def checks(res: Resources, scenario: Scenario, name: str) -> dict[str, list[dict[str, Any]]]:
    rows = await fetch(
        res,
        """select c.* from evidence_checks c join submissions s on s.id = c.submission_id
        where s.id = $1 and c.version_id = s.current_version_id order by c.id""",
        scenario.ids[name],
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["code"], []).append(row)
    return found


def one(found: dict[str, list[dict[str, Any]]], code: str, photo_name: str | None = None) -> dict[str, Any]:
    matching = [c for c in found.get(code, []) if photo_name is None or c["attachment_name"] == photo_name]
    assert len(matching) == 1, f"{code} ({photo_name}): {found}"
    return matching[0]


# The worker did all of it


async def test_every_job_finished_and_nothing_failed(res: Resources, scenario: Scenario) -> None:
    rows = await fetch(
        res, "select kind, state, count(*)::int as n from jobs where kind <> 'housekeeping' group by 1, 2"
    )
    states = {(r["kind"], r["state"]): r["n"] for r in rows}
    assert set(states) <= {("photo", "done"), ("evidence", "done")}, states
    # Every photo content analysed once, the identical copy included only once.
    analysed = await fetch(res, "select count(*)::int as n from photo_analyses")
    photos = await fetch(
        res, "select count(distinct blob_id)::int as n from submission_attachments where blob_id is not null"
    )
    assert analysed[0]["n"] == photos[0]["n"]
    checked = await fetch(res, "select count(*)::int as n from submissions where evidence_checked_at is null")
    assert checked[0]["n"] == 0


# Per photo


async def test_exif_is_read_and_stored_per_content(res: Resources, scenario: Scenario) -> None:
    rows = await fetch(
        res,
        """select p.* from photo_analyses p join submission_attachments a on a.blob_id = p.blob_id
        join submissions s on s.current_version_id = a.submission_version_id
        where s.id = $1 order by a.name""",
        scenario.ids["good"],
    )
    front, roof = rows[0], rows[1]
    assert front["status"] == "ok"
    assert (front["make"], front["model"], front["width"], front["height"]) == ("samsung", "SM-A155F", 1600, 1200)
    expected = move(*P0, north_m=15)
    assert front["gps_latitude"] == pytest.approx(expected[0], abs=1e-6)
    assert front["gps_longitude"] == pytest.approx(expected[1], abs=1e-6)
    assert front["gps_accuracy"] == pytest.approx(5.0)
    assert front["taken_offset"] == "+07:00"
    assert not front["taken_zone_assumed"]
    assert roof["taken_offset"] is None
    assert roof["taken_zone_assumed"]
    assert roof["taken_at"] is not None
    assert front["phash"] is not None
    assert front["thumb_small_blob_id"] is not None


async def test_thumbnails_are_in_the_store_upright(
    scenario: Scenario, client: AsyncTestClient[Litestar], res: Resources
) -> None:
    headers = await _headers(client, ADMIN)
    project = await _project(res)
    base = f"/v1/projects/{project}/forms/{FORM_ID}/submissions/{scenario.instances['rotated']}"
    # Collect's deviceID rides along on every URL; it changes nothing.
    small = await client.get(f"{base}/attachments/{FRONT}/thumbnails/small?deviceID=collect%3Aabc", headers=headers)
    assert small.status_code == 200, small.text
    assert small.headers["content-type"] == "image/jpeg"
    assert small.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(small.content)) as image:
        assert image.size == (180, 240)  # the landscape pixels, turned upright
    large = await client.get(f"{base}/attachments/{FRONT}/thumbnails/large", headers=headers)
    assert large.status_code == 200
    with Image.open(io.BytesIO(large.content)) as image:
        assert image.size == (1200, 1600)
    assert (await client.get(f"{base}/attachments/{FRONT}/thumbnails/huge", headers=headers)).status_code == 404
    # Thumbnails are content-addressed blobs like any other: their keys are their hashes.
    rows = await fetch(
        res,
        """select b.storage_key, encode(b.sha256, 'hex') as sha from blobs b
        join photo_analyses p on b.id = p.thumb_small_blob_id""",
    )
    assert rows
    for row in rows:
        assert row["storage_key"].endswith(row["sha"])
        assert await res.store.exists(row["storage_key"])


async def test_damaged_photos_are_recorded_unreadable(res: Resources, scenario: Scenario) -> None:
    damaged = await checks(res, scenario, "damaged")
    assert one(damaged, "photo.unreadable", FRONT)["reason_en"] == "The photo cannot be read: the file is truncated."
    bomb = await checks(res, scenario, "bomb")
    reason = one(bomb, "photo.unreadable", FRONT)["reason_en"]
    assert "9000x9000 pixels" in reason


# Per household: the rules


async def test_photo_near_the_house_and_taken_during_the_visit(res: Resources, scenario: Scenario) -> None:
    good = await checks(res, scenario, "good")
    near = one(good, "photo.gps_near", FRONT)
    assert near["severity"] == "info"
    assert near["facts"]["distanceM"] == pytest.approx(15, abs=1)
    # 30 m + 2 x √(5² + 5²)
    assert near["facts"]["toleranceM"] == pytest.approx(44.1, abs=0.1)
    assert one(good, "photo.taken_during_visit", FRONT)["severity"] == "info"
    roof = one(good, "photo.taken_during_visit", ROOF)
    assert roof["facts"]["zoneAssumed"] == "Asia/Ho_Chi_Minh"
    # No photo-accuracy tag on the roof photo: the setting stands in, and says so.
    assert one(good, "photo.gps_near", ROOF)["facts"]["photoAccuracyAssumed"] is True
    assert not [c for codes in good.values() for c in codes if c["severity"] == "warn"]


async def test_photo_far_from_the_house(res: Resources, scenario: Scenario) -> None:
    far = one(await checks(res, scenario, "far"), "photo.gps_far", FRONT)
    assert far["severity"] == "risk"
    assert far["facts"]["distanceM"] == pytest.approx(3000, rel=0.01)
    assert "3.0 km" in far["reason_en"]
    assert "3.0 km" in far["reason_vi"]


async def test_missing_exif_is_a_signal_with_advice(res: Resources, scenario: Scenario) -> None:
    found = await checks(res, scenario, "noexif")
    no_exif = one(found, "photo.no_exif", FRONT)
    assert no_exif["severity"] == "warn"
    assert "Android photo picker" in no_exif["reason_en"]
    assert "location tag" in no_exif["reason_en"]
    assert "trình chọn ảnh của Android" in no_exif["reason_vi"]
    no_gps = one(found, "photo.no_gps", ROOF)
    assert no_gps["severity"] == "warn"
    assert "location tag" in no_gps["reason_en"]


async def test_photo_times(res: Resources, scenario: Scenario) -> None:
    times = await checks(res, scenario, "times")
    before = one(times, "photo.taken_before_visit", FRONT)
    assert before["severity"] == "risk"
    assert before["facts"]["daysBefore"] == pytest.approx(10, abs=0.1)
    assert one(times, "photo.clock_unset", ROOF)["severity"] == "warn"
    future = one(await checks(res, scenario, "future"), "photo.time_future", FRONT)
    assert future["severity"] == "risk"


async def test_geopoint_trust(res: Resources, scenario: Scenario) -> None:
    assert one(await checks(res, scenario, "zeroacc"), "gps.accuracy_zero")["severity"] == "risk"
    low = one(await checks(res, scenario, "lowacc"), "gps.accuracy_low")
    assert (low["severity"], low["facts"]["accuracyM"]) == ("warn", 80.0)
    assert one(await checks(res, scenario, "outside"), "gps.outside_province")["severity"] == "risk"
    assert "gps.outside_province" not in await checks(res, scenario, "good")


async def test_a_household_far_from_its_communes_others(res: Resources, scenario: Scenario) -> None:
    outlier = one(await checks(res, scenario, "outlier"), "gps.commune_outlier")
    assert outlier["severity"] == "risk"
    assert outlier["facts"]["distanceM"] == pytest.approx(5000, rel=0.05)
    assert outlier["facts"]["households"] >= 5
    assert outlier["facts"]["thresholdM"] == 2000
    for name in ("good", "noexif", "rotated", "copy"):
        assert "gps.commune_outlier" not in await checks(res, scenario, name), name
    # Inside its own commune's polygon: no "other commune".
    assert "gps.other_commune" not in await checks(res, scenario, "outlier")


async def test_a_point_in_another_communes_polygon(res: Resources, scenario: Scenario) -> None:
    elsewhere = one(await checks(res, scenario, "elsewhere"), "gps.other_commune")
    assert elsewhere["severity"] == "risk"
    assert elsewhere["facts"] == {"declared": C, "found": D}


async def test_missing_photos(res: Resources, scenario: Scenario) -> None:
    required = one(await checks(res, scenario, "required"), "photo.required_missing")
    assert (required["severity"], required["facts"]) == ("risk", {"field": "photo_front"})
    # The optional roof photo was not answered: that is not a finding.
    assert len((await checks(res, scenario, "required"))["photo.required_missing"]) == 1
    late = one(await checks(res, scenario, "damaged"), "photo.not_received", ROOF)
    assert late["severity"] == "warn"


async def test_the_same_photo_under_another_household(res: Resources, scenario: Scenario) -> None:
    copy = one(await checks(res, scenario, "copy"), "photo.reused_exact", FRONT)
    assert copy["severity"] == "risk"
    assert copy["other_submission_id"] == scenario.ids["good"]
    # The first household learns of the copy too (its checks ran again).
    good = await checks(res, scenario, "good")
    assert {c["other_submission_id"] for c in good["photo.reused_exact"]} == {scenario.ids["copy"]}


async def test_a_near_identical_photo_under_another_household(res: Resources, scenario: Scenario) -> None:
    similar = await checks(res, scenario, "similar")
    found = {c["other_submission_id"]: c for c in similar["photo.reused_similar"]}
    # The near-copy of the good front photo matches it, and the identical copy of that photo too.
    assert set(found) == {scenario.ids["good"], scenario.ids["copy"]}
    assert found[scenario.ids["good"]]["facts"]["hammingDistance"] <= 6
    good = await checks(res, scenario, "good")
    assert {c["other_submission_id"] for c in good["photo.reused_similar"]} == {scenario.ids["similar"]}
    # Different photos never match.
    assert "photo.reused_similar" not in await checks(res, scenario, "far")


# Risk score and the API


async def test_risk_score_and_counts_are_stored(res: Resources, scenario: Scenario) -> None:
    rows = await fetch(
        res,
        "select id, risk_score, evidence_info, evidence_warn, evidence_risk from submissions order by id",
    )
    by_id = {r["id"]: r for r in rows}
    good, far = by_id[scenario.ids["good"]], by_id[scenario.ids["far"]]
    # good: two reuse codes (risk 35 each) and nothing else but info.
    assert good["risk_score"] == 70
    assert good["evidence_warn"] == 0
    assert far["risk_score"] == 35
    assert far["evidence_risk"] == 1
    for row in rows:
        found = await fetch(
            res,
            "select severity, count(*)::int as n from evidence_checks c join submissions s on s.id = c.submission_id"
            " where s.id = $1 and c.version_id = s.current_version_id group by 1",
            row["id"],
        )
        counts = {r["severity"]: r["n"] for r in found}
        assert (row["evidence_info"], row["evidence_warn"], row["evidence_risk"]) == (
            counts.get("info", 0),
            counts.get("warn", 0),
            counts.get("risk", 0),
        )
    # An evidence change was recorded for the feed.
    changes = await fetch(res, "select count(*)::int as n from submission_changes where kind = 'evidence'")
    assert changes[0]["n"] >= len(rows)


async def _project(res: Resources) -> int:
    rows = await fetch(res, "select project_id from forms where xml_form_id = $1", FORM_ID)
    return int(rows[0]["project_id"])


async def test_submission_json_carries_risk_and_counts(
    scenario: Scenario, client: AsyncTestClient[Litestar], res: Resources
) -> None:
    headers = await _headers(client, ADMIN)
    project = await _project(res)
    listed = await client.get(f"/v1/projects/{project}/forms/{FORM_ID}/submissions", headers=headers)
    assert listed.status_code == 200
    by_instance = {item["instanceId"]: item for item in listed.json()}
    good = by_instance[scenario.instances["good"]]
    assert good["riskScore"] == 70
    assert set(good["checks"]) == {"info", "warn", "risk"}
    assert good["checks"] == {"info": 4, "warn": 0, "risk": 2}
    one_item = await client.get(
        f"/v1/projects/{project}/forms/{FORM_ID}/submissions/{scenario.instances['far']}", headers=headers
    )
    assert one_item.json()["riskScore"] == 35
    assert one_item.json()["checks"]["risk"] == 1


async def test_the_evidence_endpoint(scenario: Scenario, client: AsyncTestClient[Litestar], res: Resources) -> None:
    headers = await _headers(client, ADMIN)
    project = await _project(res)
    url = f"/v1/projects/{project}/forms/{FORM_ID}/submissions/{scenario.instances['good']}/evidence?deviceID=x"
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "checked"
    assert body["riskScore"] == 70
    assert {c["code"] for c in body["checks"]} >= {"photo.gps_near", "photo.reused_exact", "photo.reused_similar"}
    reused = next(c for c in body["checks"] if c["code"] == "photo.reused_exact")
    assert reused["otherHousehold"]["instanceId"] == scenario.instances["copy"]
    assert reused["otherHousehold"]["evidenceUrl"].endswith(f"/submissions/{scenario.instances['copy']}/evidence")
    assert reused["reason"]["vi"]
    assert reused["reason"]["en"]
    front = next(p for p in body["photos"] if p["name"] == FRONT)
    assert front["status"] == "ok"
    assert front["exif"]["make"] == "samsung"
    assert front["exif"]["gps"]["accuracy"] == pytest.approx(5.0)
    assert len(front["perceptualHash"]) == 16
    assert {s["household"]["instanceId"] for s in front["sharedWith"]} == {
        scenario.instances["copy"],
        scenario.instances["similar"],
    }
    small = await client.get(front["thumbnails"]["small"].removeprefix("http://127.0.0.1:8000"), headers=headers)
    assert small.status_code == 200
    # The large view of an upright JPEG already about that size is the original itself.
    large = await client.get(front["thumbnails"]["large"].removeprefix("http://127.0.0.1:8000"), headers=headers)
    assert large.content == scenario.front_of_good


async def test_evidence_respects_the_callers_areas(
    scenario: Scenario, client: AsyncTestClient[Litestar], res: Resources
) -> None:
    headers = await _headers(client, SUPERVISOR_D)
    project = await _project(res)
    base = f"/v1/projects/{project}/forms/{FORM_ID}/submissions"
    # A household of commune C is not found for a supervisor of D, nor are its thumbnails.
    assert (await client.get(f"{base}/{scenario.instances['good']}/evidence", headers=headers)).status_code == 404
    thumb = await client.get(
        f"{base}/{scenario.instances['good']}/attachments/{FRONT}/thumbnails/small", headers=headers
    )
    assert thumb.status_code == 404
    # Its own household of D shares a photo with households in C: the check stays, without naming them.
    body = (await client.get(f"{base}/{scenario.instances['similar']}/evidence", headers=headers)).json()
    reused = [c for c in body["checks"] if c["code"] == "photo.reused_similar"]
    assert len(reused) == 2
    assert all(c["otherHousehold"] is None and c["otherHidden"] for c in reused)
    front = next(p for p in body["photos"] if p["name"] == FRONT)
    assert front["sharedWith"] == []
    anonymous = await client.get(f"{base}/{scenario.instances['similar']}/evidence")
    assert anonymous.status_code == 401
