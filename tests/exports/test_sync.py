"""`survey sync` into a second real database: the first copy, an interrupted first copy resumed without duplicates,
edits and review decisions carried by the change feed, a rerun that writes nothing, and the command itself."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import asyncpg
import pytest

from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.review import service as review
from service.settings import Settings
from service.stages import service as stages
from service.stages.models import StageIn
from service.sync.service import sync
from tests.exports.conftest import PHOTO, household_xml
from tests.support.collect import jpeg_bytes
from tests.support.db import create_database, drop_database, with_database
from tests.support.households import ingest
from tests.support.submission import new_instance_id

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from service.resources import Resources
    from tests.exports.conftest import Exports


@pytest.fixture
async def target_url(pg_server_url: str) -> AsyncIterator[str]:
    """An empty database on the same server: the "central" database the sync writes into."""
    name = await create_database(pg_server_url, "template0")
    yield with_database(pg_server_url, name)
    await drop_database(pg_server_url, name)


async def fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


class Interrupted(Exception):
    pass


async def test_the_first_sync_copies_households_members_photos_and_areas(
    resources: Resources, exports: Exports, target_url: str
) -> None:
    [report] = await sync(resources, target_url, project_id=exports.project, xml_form_ids=["exported"])
    assert (report.households_written, report.first_load_done) == (2, True)
    households = await fetch(
        target_url,
        "select instance_id, district_code, commune_code, answers, latitude, review_state "
        "from survey_sync.households order by district_code",
    )
    assert [(h["district_code"], h["commune_code"]) for h in households] == [("474", "19750"), ("481", "20044")]
    assert [h["instance_id"] for h in households] == list(exports.photos)
    assert households[0]["latitude"] == pytest.approx(16.4637)
    members = await fetch(
        target_url, "select instance_id, key, parent_key, position, data from survey_sync.members order by key"
    )
    first = households[0]["instance_id"]
    assert [(m["key"], m["parent_key"], m["position"]) for m in members if m["instance_id"] == first] == [
        (f"{first}/members[1]", first, 1),
        (f"{first}/members[2]", first, 2),
    ]
    assert len(members) == 3
    photos = await fetch(target_url, "select instance_id, name, sha256, size, url from survey_sync.photos")
    assert {(p["instance_id"], p["name"]) for p in photos} == {(i, PHOTO) for i in exports.photos}
    for photo in photos:
        assert photo["size"] == len(exports.photos[photo["instance_id"]])
        assert photo["url"].endswith(f"/submissions/{photo['instance_id']}/attachments/{PHOTO}")

    [again] = await sync(resources, target_url, project_id=exports.project, xml_form_ids=["exported"])
    assert (again.households_written, again.changes_read) == (0, 0)


async def test_an_interrupted_first_copy_resumes_after_its_last_batch(
    resources: Resources, exports: Exports, target_url: str
) -> None:
    admin = await access_to(resources, SYSTEM, exports.project)
    for n in range(5):
        await ingest(resources, admin, household_xml(new_instance_id(), "474", "19750", f"Hộ {n}", [("A", 30)]))
    seen: list[int] = []

    def stop_after_two_batches(what: str, done: int, total: int | None) -> None:
        seen.append(done)
        if len(seen) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        await sync(
            resources,
            target_url,
            project_id=exports.project,
            xml_form_ids=["exported"],
            batch=2,
            progress=stop_after_two_batches,
        )
    [state] = await fetch(target_url, "select first_load_done from survey_sync.sync_state")
    assert state["first_load_done"] is False
    [[copied]] = await fetch(target_url, "select count(*) from survey_sync.households")
    assert copied == 4  # two committed batches of two

    [report] = await sync(resources, target_url, project_id=exports.project, xml_form_ids=["exported"], batch=2)
    assert report.households_written == 3
    [[copied]] = await fetch(target_url, "select count(*) from survey_sync.households")
    assert copied == 7
    [[members]] = await fetch(target_url, "select count(*) from survey_sync.members")
    assert members == 3 + 5


async def test_edits_decisions_and_new_households_reach_the_target_on_the_next_run(
    resources: Resources, exports: Exports, target_url: str
) -> None:
    await sync(resources, target_url, project_id=exports.project, xml_form_ids=["exported"])
    admin = await access_to(resources, SYSTEM, exports.project)
    first, second = list(exports.photos)

    edited_id = new_instance_id()
    edited = household_xml(first, "474", "19750", "Nguyễn Văn A", [("Nguyễn Văn A", 41)]).replace(
        f"<instanceID>{first}</instanceID>".encode(),
        f"<instanceID>{edited_id}</instanceID><deprecatedID>{first}</deprecatedID>".encode(),
    )
    await ingest(resources, admin, edited, [(PHOTO, jpeg_bytes(seed=950))])
    await review.decide(resources, admin, "exported", second, state="rejected", reason="photo_unclear", note="ảnh mờ")
    new = new_instance_id()
    await ingest(resources, admin, household_xml(new, "481", "20044", "Mới", []))
    meeting = StageIn(stage="meeting", meeting_date=Settings().local_today(), agreement_percent=35.5, attendees=20)
    await stages.step(resources, admin, "exported", second, meeting)

    [report] = await sync(resources, target_url, project_id=exports.project, xml_form_ids=["exported"])
    assert report.households_written == 3
    assert report.changes_read >= 3
    households = {
        h["instance_id"]: h
        for h in await fetch(
            target_url,
            "select instance_id, current_instance_id, review_state, stage, edits from survey_sync.households",
        )
    }
    assert set(households) == {first, second, new}
    assert (households[first]["current_instance_id"], households[first]["edits"]) == (edited_id, 1)
    assert households[second]["review_state"] == "rejected"
    assert (households[second]["stage"], households[first]["stage"]) == ("re_review", "surveyed")
    [step] = await fetch(target_url, "select instance_id, to_stage, agreement_percent from survey_sync.stage_steps")
    assert (step["instance_id"], step["to_stage"], float(step["agreement_percent"])) == (second, "re_review", 35.5)
    members = await fetch(
        target_url, f"select data from survey_sync.members where instance_id = '{first}' order by position"
    )
    assert [m["data"] for m in members] == ['{"m_age": 41, "m_name": "Nguyễn Văn A"}']
    [decision] = await fetch(
        target_url, "select instance_id, to_state, reason_code, note from survey_sync.review_decisions"
    )
    assert (decision["instance_id"], decision["to_state"], decision["reason_code"], decision["note"]) == (
        second,
        "rejected",
        "photo_unclear",
        "ảnh mờ",
    )
    [[sha]] = await fetch(target_url, f"select sha256 from survey_sync.photos where instance_id = '{first}'")
    import hashlib

    assert sha == hashlib.sha256(jpeg_bytes(seed=950)).hexdigest()

    [quiet] = await sync(resources, target_url, project_id=exports.project, xml_form_ids=["exported"])
    assert (quiet.households_written, quiet.changes_read) == (0, 0)


async def test_the_sync_command_copies_into_a_target(
    settings: Settings, exports: Exports, target_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "DATABASE_URL": str(settings.database_url), "DATA_DIR": str(tmp_path / "data")}
    env |= {"MEDIA_ROOT": str(tmp_path / "media"), "LOAD_EXAMPLE_FORM": "false"}
    done = subprocess.run(
        [sys.executable, "-m", "service", "sync", "--target", target_url, "--project", str(exports.project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "exported: 2 households written" in done.stdout
    [[copied]] = await fetch(target_url, "select count(*) from survey_sync.households")
    assert copied == 2


async def test_the_export_command_writes_a_complete_file(settings: Settings, exports: Exports, tmp_path: Path) -> None:
    import zipfile

    env = {**os.environ, "DATABASE_URL": str(settings.database_url), "DATA_DIR": str(tmp_path / "data")}
    env |= {"MEDIA_ROOT": str(settings.media_root), "LOAD_EXAMPLE_FORM": "false"}
    output = tmp_path / "out.zip"
    command = [sys.executable, "-m", "service", "export", "--project", str(exports.project), "--form", "exported"]
    done = subprocess.run(
        [*command, "--output", str(output), "--area", "19750"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"{output}: 1 households" in done.stdout
    with zipfile.ZipFile(output) as archive:
        names = archive.namelist()
        assert names[:2] == ["exported.csv", "exported-members.csv"]
        assert names[2:] == [f"media/{PHOTO}"]
    assert not list(tmp_path.glob("*.partial"))

    refused = subprocess.run(
        [*command[:-1], "nonexistent", "--output", str(tmp_path / "none.zip")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 1
    assert "survey:" in refused.stderr
    assert not (tmp_path / "none.zip").exists()
    assert not list(tmp_path.glob("*.partial"))


async def test_photo_evidence_reaches_the_target_after_the_worker_ran(
    resources: Resources, settings: Settings, exports: Exports, target_url: str
) -> None:
    from tests.support.worker import run_worker

    await sync(resources, target_url, project_id=exports.project, xml_form_ids=["exported"])
    [[unchecked]] = await fetch(target_url, "select count(*) from survey_sync.households where risk_score is null")
    assert unchecked == 2
    run_worker(settings)
    [report] = await sync(resources, target_url, project_id=exports.project, xml_form_ids=["exported"])
    assert report.households_written == 2  # the evidence results are a change of each household
    households = await fetch(
        target_url,
        "select instance_id, risk_score, evidence_warn + evidence_risk as flagged from survey_sync.households",
    )
    assert all(h["risk_score"] is not None for h in households)
    flags = await fetch(target_url, "select instance_id, code, severity, reason_en from survey_sync.evidence_flags")
    assert {f["instance_id"] for f in flags} <= set(exports.photos)
    per_household = {h["instance_id"]: h["flagged"] for h in households}
    for instance, flagged in per_household.items():
        assert len([f for f in flags if f["instance_id"] == instance and f["severity"] != "info"]) == flagged
    # Photos made in the tests carry no EXIF: the check says so, in words a supervisor understands.
    assert any(f["code"].startswith("photo.") and f["reason_en"] for f in flags)
