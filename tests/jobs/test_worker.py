"""The real worker process: killed with SIGKILL in the middle of a job (the job is taken over and its results are
not duplicated), stopped gently with SIGTERM, and checking a household again when a photo arrives or it is edited."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from tests.evidence.kit import FRONT, ROOF, ZONE, Household, fetch, publish, submit
from tests.support.photos import exif_time, move, photo
from tests.support.worker import run_worker, start_worker

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path

    from service.resources import Resources
    from service.settings import Settings

POINT = (16.4637, 107.5909)


def _household(**fields: object) -> Household:
    now = datetime.now(UTC)
    taken = exif_time(now - timedelta(minutes=10), ZONE)
    defaults: dict[str, object] = {
        "name": "Nguyễn Văn B",
        "point": (*POINT, 10.0, 5.0),
        "start": now - timedelta(minutes=30),
        "end": now - timedelta(minutes=1),
        "files": {
            FRONT: photo(21, gps=move(*POINT, north_m=10), taken=taken, offset="+07:00"),
            ROOF: photo(22, gps=move(*POINT, east_m=10), taken=taken, offset="+07:00"),
        },
    }
    return Household(**{**defaults, **fields})  # type: ignore[arg-type]


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        assert process.poll() is None, log.read_text(errors="replace")
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in the worker's log:\n{log.read_text(errors='replace')}")


@pytest.mark.parametrize("point", ["job.photo.before_commit", "job.evidence.before_commit"])
async def test_a_worker_killed_mid_job_is_replaced_and_nothing_is_duplicated(
    resources: Resources, settings: Settings, tmp_path: Path, point: str
) -> None:
    access = await publish(resources)
    result = await submit(resources, access, _household())
    log = tmp_path / "killed.log"
    # The worker stops inside the job's transaction (results written, not committed) and waits there to be killed.
    env = {"SURVEY_FAULT_POINT": point, "JOB_LEASE_S": "1"}
    if point == "job.evidence.before_commit":
        run_worker(settings, kinds="photo")  # the photos first, so the evidence job runs and holds
    worker = start_worker(settings, env=env, log=log)
    try:
        _wait_for(log, f"holding at fault point {point}", worker)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    kind = point.split(".")[1]
    [held] = await fetch(resources, "select state, attempts from jobs where kind = $1 and state = 'running'", kind)
    assert held["attempts"] == 1
    assert await fetch(resources, "select 1 from evidence_checks") == []
    # A new worker takes the job over once its lease has ended, and finishes everything.
    output = run_worker(settings, env={"JOB_LEASE_S": "1"})
    assert "taking over" in output
    taken = await fetch(resources, "select key, state, attempts from jobs where kind = $1 order by id", kind)
    assert [j["state"] for j in taken] == ["done"] * len(taken)
    assert max(j["attempts"] for j in taken) == 2
    # One analysis per photo, one thumbnail row per content, one set of checks.
    assert (await fetch(resources, "select count(*)::int as n from photo_analyses"))[0]["n"] == 2
    thumbnails = await fetch(
        resources,
        """select count(*)::int as n, count(distinct sha256)::int as d from blobs b
        where exists (select 1 from photo_analyses p where p.thumb_small_blob_id = b.id)""",
    )
    assert thumbnails[0]["n"] == thumbnails[0]["d"] == 2
    codes = await fetch(
        resources,
        "select code, attachment_name, count(*)::int as n from evidence_checks where submission_id = $1 group by 1, 2",
        result.submission_id,
    )
    assert codes
    assert all(c["n"] == 1 for c in codes), codes


async def test_sigterm_stops_a_worker_gently(settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    worker = start_worker(settings, log=log)
    try:
        _wait_for(log, "started", worker)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    assert "stopped" in log.read_text()


async def _codes(res: Resources, submission_id: int) -> dict[str, list[str | None]]:
    rows = await fetch(
        res,
        """select c.code, c.attachment_name from evidence_checks c join submissions s on s.id = c.submission_id
        where s.id = $1 and c.version_id = s.current_version_id order by c.id""",
        submission_id,
    )
    found: dict[str, list[str | None]] = {}
    for row in rows:
        found.setdefault(row["code"], []).append(row["attachment_name"])
    return found


async def test_checks_run_again_when_a_photo_arrives_and_when_the_household_is_edited(
    resources: Resources, settings: Settings
) -> None:
    access = await publish(resources)
    household = _household()
    roof = household.files.pop(ROOF)
    result = await submit(resources, access, household)
    run_worker(settings)
    assert (await _codes(resources, result.submission_id))["photo.not_received"] == [ROOF]
    # Collect sends the rest in another POST (same XML): the missing photo arrives.
    household.files = {ROOF: roof}
    await submit(resources, access, household)
    run_worker(settings)
    codes = await _codes(resources, result.submission_id)
    assert "photo.not_received" not in codes
    assert codes["photo.gps_near"] == [FRONT, ROOF]
    # An edit with the front photo replaced by one taken 3 km away: the new version gets its own checks.
    edit = _household(
        instance_id=f"uuid:edit-{result.submission_id}",
        deprecated_id=household.instance_id,
        files={FRONT: photo(23, gps=move(*POINT, north_m=3000), taken=None)},
    )
    await submit(resources, access, edit)
    run_worker(settings)
    codes = await _codes(resources, result.submission_id)
    assert codes["photo.gps_far"] == [FRONT]
    assert codes["photo.no_time"] == [FRONT]
    [row] = await fetch(
        resources, "select risk_score, evidence_version_id = current_version_id as current from submissions"
    )
    assert row["current"]
    assert row["risk_score"] == 45  # gps_far (risk 35) + no_time (warn 10)
    # The first version's checks are kept as they were.
    versions = await fetch(resources, "select count(distinct version_id)::int as n from evidence_checks")
    assert versions[0]["n"] == 2
