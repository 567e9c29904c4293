"""The rules as pure functions, for the edges the end-to-end scenario does not reach: settings, weights, times
without a form start, the tolerance arithmetic, the commune boundary file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from service.evidence.checks import (
    Check,
    CommuneStats,
    HouseholdFacts,
    PhotoEvidence,
    evaluate,
    risk_score,
)
from service.evidence.config import EvidenceConfig
from service.evidence.geo import distance_m, load_boundaries
from service.evidence.photo import PhotoFacts
from service.settings import Settings, SettingsError
from tests.support.photos import move

if TYPE_CHECKING:
    from pathlib import Path

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
POINT = (16.4637, 107.5909)


def _household(**fields: object) -> HouseholdFacts:
    values: dict[str, object] = {
        "encrypted": False,
        "latitude": POINT[0],
        "longitude": POINT[1],
        "accuracy": 5.0,
        "commune_code": None,
        "start": None,
        "end": None,
        "received_at": NOW,
        "photos": [],
        "required_missing": [],
        "commune": None,
        "boundary_commune": None,
        "reuses": [],
    }
    values.update(fields)
    return HouseholdFacts(**values)  # type: ignore[arg-type]


def _photo(**facts: object) -> PhotoEvidence:
    values: dict[str, object] = {"status": "ok", "has_exif": True, "taken_at": NOW - timedelta(hours=1)}
    values.update(facts)
    return PhotoEvidence(
        name="a.jpg",
        field_path="/data/photo",
        received=True,
        analysis_state="done",
        facts=PhotoFacts(**values),  # type: ignore[arg-type]
        blob_id=1,
    )


def _codes(checks: list[Check]) -> dict[str, str]:
    return {c.code: c.severity for c in checks}


CONFIG = EvidenceConfig(Settings())


def test_settings_are_checked_at_start() -> None:
    with pytest.raises(SettingsError, match="EVIDENCE_TIME_ZONE"):
        Settings.from_env({"EVIDENCE_TIME_ZONE": "Mars/Olympus"})
    with pytest.raises(SettingsError, match="EVIDENCE_PROVINCE_BBOX"):
        Settings.from_env({"EVIDENCE_PROVINCE_BBOX": "16,108,15,107"})
    with pytest.raises(SettingsError, match="RISK_WEIGHTS"):
        Settings.from_env({"RISK_WEIGHTS": "photo.reused_exact=lots"})


def test_risk_score_counts_each_code_once_at_its_worst_and_caps_at_100() -> None:
    checks = [
        Check(code="photo.no_gps", severity="warn", reason_vi="", reason_en=""),
        Check(code="photo.no_gps", severity="warn", reason_vi="", reason_en=""),
        Check(code="photo.gps_far", severity="warn", reason_vi="", reason_en=""),
        Check(code="photo.gps_far", severity="risk", reason_vi="", reason_en=""),
        Check(code="photo.gps_near", severity="info", reason_vi="", reason_en=""),
    ]
    assert risk_score(checks, CONFIG) == 10 + 35
    weighted = EvidenceConfig(Settings(risk_weights="photo.gps_far=80,photo.no_gps=30"))
    assert risk_score(checks, weighted) == 100


def test_the_tolerance_adds_both_accuracies() -> None:
    at = move(*POINT, north_m=60)
    photo = _photo(gps_latitude=at[0], gps_longitude=at[1], gps_accuracy=10.0)
    # 30 + 2 x sqrt(5² + 10²) = 52.4 m < 60 m: a warning, not yet a risk (that starts at 500 m)
    [far] = [c for c in evaluate(_household(photos=[photo]), CONFIG) if c.code == "photo.gps_far"]
    assert far.severity == "warn"
    assert far.facts["toleranceM"] == pytest.approx(52.4, abs=0.1)
    # A poor household point widens it: ±40 m makes 60 m fine.
    checks = evaluate(_household(photos=[photo], accuracy=40.0), CONFIG)
    assert "photo.gps_near" in _codes(checks)
    assert _codes(checks)["gps.accuracy_low"] == "warn"


def test_without_a_form_start_an_old_photo_is_judged_against_the_receipt() -> None:
    photo = _photo(taken_at=NOW - timedelta(days=5))
    assert _codes(evaluate(_household(photos=[photo]), CONFIG))["photo.taken_before_visit"] == "warn"
    started = _household(photos=[photo], start=NOW - timedelta(hours=2), end=NOW - timedelta(hours=1))
    assert _codes(evaluate(started, CONFIG))["photo.taken_before_visit"] == "risk"
    # Within the slack around the visit is fine, and a clock a few minutes fast too.
    ok = _household(photos=[_photo(taken_at=NOW + timedelta(minutes=5))], start=NOW - timedelta(hours=1), end=NOW)
    assert "photo.time_future" not in _codes(evaluate(ok, CONFIG))


def test_editing_software_is_flagged_and_camera_firmware_is_not() -> None:
    edited = evaluate(_household(photos=[_photo(software="Adobe Photoshop Lightroom 6.0")]), CONFIG)
    assert _codes(edited)["photo.edited"] == "warn"
    firmware = evaluate(_household(photos=[_photo(software="A155FXXU1AXA1")]), CONFIG)
    assert "photo.edited" not in _codes(firmware)


def test_a_commune_too_small_has_no_outliers() -> None:
    far = move(*POINT, east_m=9000)
    small = _household(commune_code="19753", commune=CommuneStats(3, far[0], far[1], 100.0))
    assert "gps.commune_outlier" not in _codes(evaluate(small, CONFIG))
    enough = _household(commune_code="19753", commune=CommuneStats(5, far[0], far[1], 100.0))
    assert _codes(evaluate(enough, CONFIG))["gps.commune_outlier"] == "risk"
    # A widely spread commune widens its own threshold (5 x the median distance).
    spread = _household(commune_code="19753", commune=CommuneStats(50, far[0], far[1], 2000.0))
    assert "gps.commune_outlier" not in _codes(evaluate(spread, CONFIG))


def test_encrypted_households_are_not_checked() -> None:
    assert _codes(evaluate(_household(encrypted=True, accuracy=0.0), CONFIG)) == {"evidence.encrypted": "info"}


def test_commune_polygons_from_geojson(tmp_path: Path) -> None:
    square = [[107.5, 16.4], [107.7, 16.4], [107.7, 16.5], [107.5, 16.5], [107.5, 16.4]]
    hole = [[107.58, 16.44], [107.6, 16.44], [107.6, 16.46], [107.58, 16.46], [107.58, 16.44]]
    features = [
        {
            "type": "Feature",
            "properties": {"ma_xa": "19753"},
            "geometry": {"type": "Polygon", "coordinates": [square, hole]},
        },
        {
            "type": "Feature",
            "properties": {"ma_xa": "19771"},
            "geometry": {"type": "MultiPolygon", "coordinates": [[hole]]},
        },
    ]
    path = tmp_path / "communes.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    boundaries = load_boundaries(path, code_property="ma_xa")
    assert boundaries.commune_at(16.42, 107.55) == "19753"
    assert boundaries.commune_at(16.45, 107.59) == "19771"  # in the hole: the other commune
    assert boundaries.commune_at(21.0, 105.8) is None
    assert distance_m(16.0, 107.0, 16.0, 107.0) == 0
    assert distance_m(*POINT, *move(*POINT, north_m=1000)) == pytest.approx(1000, rel=0.01)
