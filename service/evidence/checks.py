"""The evidence rules: from what is known about a household and its photos to checks a supervisor can act on.

Pure: the job (jobs.py) gathers the facts from the database, this module decides. Each check has a code, a severity
(`info`: fine or worth knowing, `warn`: look at it, `risk`: the evidence may not be what it claims), a reason in
Vietnamese and English, and the numbers behind it. Missing EXIF is a signal, never a rejection.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from .geo import distance_m
from .photo import PhotoFacts

if TYPE_CHECKING:
    from .config import EvidenceConfig

__all__ = [
    "Check",
    "CommuneStats",
    "HouseholdFacts",
    "PhotoEvidence",
    "Reuse",
    "count_by_severity",
    "evaluate",
    "risk_score",
]

Severity = Literal["info", "warn", "risk"]
_RANK = {"info": 0, "warn": 1, "risk": 2}

# Software tags written by editing apps (phones write their firmware or camera pipeline there, which is fine).
_EDITORS = re.compile(
    r"photoshop|lightroom|gimp|snapseed|picsart|pixlr|canva|facetune|meitu|ps express|photo editor|"
    r"affinity|paint\.net|vsco|airbrush|remini|picsart",
    re.IGNORECASE,
)
_EXIF_HINT_VI = (
    " Một số điện thoại và trình chọn ảnh của Android xoá thông tin EXIF khi gửi ảnh; hãy chụp bằng máy ảnh trong"
    " ODK Collect và bật chế độ lưu vị trí (thẻ định vị) trong ứng dụng máy ảnh."
)
_EXIF_HINT_EN = (
    " Some phones and the Android photo picker strip EXIF when a photo is attached; take the photo with the camera"
    " from ODK Collect and turn on the location tag in the camera app."
)


class Check(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    severity: Severity
    reason_vi: str
    reason_en: str
    facts: dict[str, Any] = {}
    attachment_name: str | None = None
    other_submission_id: int | None = None


class Reuse(msgspec.Struct, frozen=True):
    """A photo of this household that another household of the project also shows."""

    name: str
    other_submission_id: int
    match: Literal["identical", "similar"]
    distance: int


class PhotoEvidence(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    field_path: str | None
    received: bool
    # done: analysed; pending: its job has not run yet; failed: its job gave up; None: not an image.
    analysis_state: Literal["done", "pending", "failed"] | None
    facts: PhotoFacts | None = None
    blob_id: int | None = None


class CommuneStats(msgspec.Struct, frozen=True):
    households: int
    latitude: float
    longitude: float
    # Median distance of the commune's other households from their median point: how spread out they are.
    spread_m: float


class HouseholdFacts(msgspec.Struct, frozen=True, kw_only=True):
    encrypted: bool
    latitude: float | None
    longitude: float | None
    accuracy: float | None
    commune_code: str | None
    start: datetime | None
    end: datetime | None
    received_at: datetime
    photos: list[PhotoEvidence]
    # Image questions the form requires that have no answer (required photos missing).
    required_missing: list[str]
    commune: CommuneStats | None
    # The commune whose polygon holds the point ("" when none does), when boundaries are loaded.
    boundary_commune: str | None
    reuses: list[Reuse]


def evaluate(household: HouseholdFacts, config: EvidenceConfig) -> list[Check]:
    if household.encrypted:
        return [
            Check(
                code="evidence.encrypted",
                severity="info",
                reason_vi="Bản ghi được mã hoá: máy chủ không đọc được nội dung nên không kiểm tra được ảnh và vị trí.",
                reason_en="The submission is encrypted: the server cannot read it, so photos and location are not "
                "checked.",
            )
        ]
    checks = _geopoint_checks(household, config)
    checks += _presence_checks(household)
    for photo in household.photos:
        if photo.received and photo.analysis_state == "done" and photo.facts is not None:
            checks += _photo_checks(photo, photo.facts, household, config)
    checks += _reuse_checks(household)
    return checks


def risk_score(checks: list[Check], config: EvidenceConfig) -> int:
    """Per distinct code the weight of its most severe instance, summed, capped at 100."""
    worst: dict[str, Severity] = {}
    for check in checks:
        if check.code not in worst or _RANK[check.severity] > _RANK[worst[check.code]]:
            worst[check.code] = check.severity
    return max(0, min(100, sum(config.weight(code, severity) for code, severity in worst.items())))


def count_by_severity(checks: list[Check]) -> dict[str, int]:
    counts = {"info": 0, "warn": 0, "risk": 0}
    for check in checks:
        counts[check.severity] += 1
    return counts


# The household's point


def _geopoint_checks(household: HouseholdFacts, config: EvidenceConfig) -> list[Check]:
    lat, lon, accuracy = household.latitude, household.longitude, household.accuracy
    if lat is None or lon is None:
        return [
            Check(
                code="gps.missing",
                severity="warn",
                reason_vi="Hộ không có toạ độ, nên không so được vị trí ảnh với vị trí nhà.",
                reason_en="The household has no location, so photo locations cannot be compared with it.",
            )
        ]
    checks = []
    point = {"latitude": lat, "longitude": lon, "accuracyM": accuracy}
    if accuracy is not None and accuracy == 0:
        checks.append(
            Check(
                code="gps.accuracy_zero",
                severity="risk",
                reason_vi="Độ chính xác của toạ độ bằng đúng 0 m: điện thoại không bao giờ đo được như vậy; toạ độ "
                "có thể được nhập tay hoặc giả lập (ứng dụng vị trí giả).",
                reason_en="The location's accuracy is exactly 0 m, which no phone measures: the point may have been "
                "typed in or come from a mock-location app.",
                facts=point,
            )
        )
    elif accuracy is not None and accuracy > config.settings.evidence_max_accuracy_m:
        checks.append(
            Check(
                code="gps.accuracy_low",
                severity="warn",
                reason_vi=f"Toạ độ kém chính xác: ±{accuracy:.0f} m (ngưỡng "
                f"{config.settings.evidence_max_accuracy_m:.0f} m).",
                reason_en=f"The location is imprecise: ±{accuracy:.0f} m (threshold "
                f"{config.settings.evidence_max_accuracy_m:.0f} m).",
                facts={**point, "thresholdM": config.settings.evidence_max_accuracy_m},
            )
        )
    min_lat, min_lon, max_lat, max_lon = config.bbox
    outside = not (min_lat <= lat <= max_lat and min_lon <= lon <= max_lon)
    if outside:
        checks.append(
            Check(
                code="gps.outside_province",
                severity="risk",
                reason_vi="Toạ độ của hộ nằm ngoài địa bàn tỉnh.",
                reason_en="The household's location is outside the province.",
                facts={**point, "bbox": list(config.bbox)},
            )
        )
    checks += _commune_checks(household, lat, lon, config, outside=outside)
    return checks


def _commune_checks(
    household: HouseholdFacts, lat: float, lon: float, config: EvidenceConfig, *, outside: bool
) -> list[Check]:
    checks = []
    commune, stats = household.commune_code, household.commune
    if commune and stats is not None and stats.households >= config.settings.evidence_commune_min_households:
        distance = distance_m(lat, lon, stats.latitude, stats.longitude)
        threshold = max(
            config.settings.evidence_commune_outlier_m, config.settings.evidence_commune_outlier_factor * stats.spread_m
        )
        if distance > threshold:
            checks.append(
                Check(
                    code="gps.commune_outlier",
                    severity="risk" if distance > 2 * threshold else "warn",
                    reason_vi=f"Hộ ở cách trung tâm các hộ khác của cùng xã ({stats.households} hộ) "
                    f"{distance / 1000:.1f} km, xa hơn ngưỡng {threshold / 1000:.1f} km: kiểm tra lại xã đã khai "
                    "hoặc toạ độ.",
                    reason_en=f"The household is {distance / 1000:.1f} km from the centre of the other households "
                    f"of its commune ({stats.households}), beyond the {threshold / 1000:.1f} km threshold: check "
                    "the declared commune or the location.",
                    facts={
                        "distanceM": round(distance),
                        "thresholdM": round(threshold),
                        "communeCode": commune,
                        "households": stats.households,
                        "centre": {"latitude": stats.latitude, "longitude": stats.longitude},
                        "spreadM": round(stats.spread_m),
                    },
                )
            )
    found = household.boundary_commune
    if commune and found is not None and found != commune and not outside:
        checks.append(
            Check(
                code="gps.other_commune",
                severity="risk" if found else "warn",
                reason_vi=f"Toạ độ nằm trong xã {found}, không phải xã đã khai ({commune})."
                if found
                else f"Toạ độ không nằm trong ranh giới xã nào đã biết (xã đã khai: {commune}).",
                reason_en=f"The location lies in commune {found}, not the declared one ({commune})."
                if found
                else f"The location lies in no known commune boundary (declared: {commune}).",
                facts={"declared": commune, "found": found or None},
            )
        )
    return checks


# Photos present or not


def _presence_checks(household: HouseholdFacts) -> list[Check]:
    checks = []
    for field in household.required_missing:
        checks.append(
            Check(
                code="photo.required_missing",
                severity="risk",
                reason_vi=f"Thiếu ảnh bắt buộc ({field}).",
                reason_en=f"A required photo is missing ({field}).",
                facts={"field": field},
            )
        )
    seen: dict[int, str] = {}
    for photo in household.photos:
        if not photo.received:
            checks.append(
                Check(
                    code="photo.not_received",
                    severity="warn",
                    reason_vi="Ảnh đã khai trong phiếu nhưng máy chủ chưa nhận được (điện thoại có thể còn đang gửi).",
                    reason_en="The form names this photo but the server has not received it yet (the phone may "
                    "still be sending it).",
                    attachment_name=photo.name,
                )
            )
            continue
        if photo.blob_id is not None and photo.analysis_state is not None:
            if photo.blob_id in seen:
                checks.append(
                    Check(
                        code="photo.duplicate_within",
                        severity="warn",
                        reason_vi=f"Ảnh này giống hệt ảnh {seen[photo.blob_id]} của cùng hộ.",
                        reason_en=f"This photo is the same file as {seen[photo.blob_id]} of the same household.",
                        attachment_name=photo.name,
                        facts={"sameAs": seen[photo.blob_id]},
                    )
                )
            seen.setdefault(photo.blob_id, photo.name)
        if photo.analysis_state == "failed":
            checks.append(
                Check(
                    code="photo.analysis_failed",
                    severity="warn",
                    reason_vi="Không phân tích được ảnh này (lỗi hệ thống); quản trị viên xem tại /v1/system/jobs.",
                    reason_en="This photo could not be analysed (a system error); administrators see /v1/system/jobs.",
                    attachment_name=photo.name,
                )
            )
    return checks


# One photo


def _photo_checks(
    photo: PhotoEvidence, facts: PhotoFacts, household: HouseholdFacts, config: EvidenceConfig
) -> list[Check]:
    name = photo.name
    if facts.status == "unreadable":
        return [
            Check(
                code="photo.unreadable",
                severity="risk",
                reason_vi=f"Không đọc được ảnh: {facts.reason or 'tệp hỏng'}.",
                reason_en=f"The photo cannot be read: {facts.reason or 'a damaged file'}.",
                attachment_name=name,
                facts={"reason": facts.reason},
            )
        ]
    checks = []
    if not facts.has_exif:
        checks.append(
            Check(
                code="photo.no_exif",
                severity="warn",
                reason_vi="Ảnh không có thông tin EXIF (thời gian chụp, vị trí, máy chụp), nên không xác minh được "
                "ảnh được chụp ở đâu, khi nào." + _EXIF_HINT_VI,
                reason_en="The photo carries no EXIF (time, location, camera), so where and when it was taken "
                "cannot be verified." + _EXIF_HINT_EN,
                attachment_name=name,
            )
        )
        return checks
    if facts.software and _EDITORS.search(facts.software):
        checks.append(
            Check(
                code="photo.edited",
                severity="warn",
                reason_vi=f"Ảnh đã qua phần mềm chỉnh sửa ({facts.software}).",
                reason_en=f"The photo went through editing software ({facts.software}).",
                attachment_name=name,
                facts={"software": facts.software},
            )
        )
    checks += _photo_place(photo, facts, household, config)
    checks += _photo_time(name, facts, household, config)
    return checks


def _photo_place(
    photo: PhotoEvidence, facts: PhotoFacts, household: HouseholdFacts, config: EvidenceConfig
) -> list[Check]:
    name = photo.name
    if facts.gps_latitude is None or facts.gps_longitude is None:
        return [
            Check(
                code="photo.no_gps",
                severity="warn",
                reason_vi="Ảnh không có toạ độ GPS trong EXIF, nên không xác minh được ảnh chụp tại nhà này."
                + _EXIF_HINT_VI,
                reason_en="The photo has no GPS position in its EXIF, so it cannot be verified that it was taken "
                "at this house." + _EXIF_HINT_EN,
                attachment_name=name,
            )
        ]
    if household.latitude is None or household.longitude is None:
        return []
    settings = config.settings
    distance = distance_m(household.latitude, household.longitude, facts.gps_latitude, facts.gps_longitude)
    photo_accuracy = facts.gps_accuracy if facts.gps_accuracy is not None else settings.evidence_photo_accuracy_m
    household_accuracy = household.accuracy or 0.0
    tolerance = settings.evidence_gps_tolerance_m + 2 * math.hypot(household_accuracy, photo_accuracy)
    numbers = {
        "distanceM": round(distance, 1),
        "toleranceM": round(tolerance, 1),
        "photoAccuracyM": photo_accuracy,
        "photoAccuracyAssumed": facts.gps_accuracy is None,
        "householdAccuracyM": household.accuracy,
        "photo": {"latitude": facts.gps_latitude, "longitude": facts.gps_longitude},
    }
    if distance <= tolerance:
        return [
            Check(
                code="photo.gps_near",
                severity="info",
                reason_vi=f"Ảnh được chụp cách vị trí nhà {distance:.0f} m (trong sai số cho phép {tolerance:.0f} m).",
                reason_en=f"The photo was taken {distance:.0f} m from the house (within the {tolerance:.0f} m "
                "tolerance).",
                attachment_name=name,
                facts=numbers,
            )
        ]
    far = distance > max(settings.evidence_gps_far_m, 3 * tolerance)
    shown_vi = f"{distance / 1000:.1f} km" if distance >= 1000 else f"{distance:.0f} m"
    return [
        Check(
            code="photo.gps_far",
            severity="risk" if far else "warn",
            reason_vi=f"Ảnh được chụp cách vị trí nhà {shown_vi}, xa hơn sai số cho phép ({tolerance:.0f} m, tính "
            "cả độ chính xác của hai toạ độ): có thể ảnh không chụp tại nhà này.",
            reason_en=f"The photo was taken {shown_vi} from the house, beyond the tolerance ({tolerance:.0f} m, both "
            "accuracies included): it may not show this house.",
            attachment_name=name,
            facts=numbers,
        )
    ]


def _photo_time(name: str, facts: PhotoFacts, household: HouseholdFacts, config: EvidenceConfig) -> list[Check]:
    taken = facts.taken_at
    settings = config.settings
    if taken is None:
        return [
            Check(
                code="photo.no_time",
                severity="warn",
                reason_vi="EXIF của ảnh không có thời gian chụp (DateTimeOriginal).",
                reason_en="The photo's EXIF has no capture time (DateTimeOriginal).",
                attachment_name=name,
            )
        ]
    numbers: dict[str, Any] = {
        "takenAt": taken.isoformat(),
        "zoneAssumed": settings.evidence_time_zone if facts.taken_zone_assumed else None,
        "start": household.start.isoformat() if household.start else None,
        "end": household.end.isoformat() if household.end else None,
        "receivedAt": household.received_at.isoformat(),
    }
    if taken.year < 2000:
        return [
            Check(
                code="photo.clock_unset",
                severity="warn",
                reason_vi=f"Đồng hồ máy ảnh chưa được đặt (ảnh ghi ngày {taken:%d/%m/%Y}): không dựa vào thời gian "
                "chụp được.",
                reason_en=f"The camera clock was never set (the photo says {taken:%Y-%m-%d}): its time cannot be "
                "relied on.",
                attachment_name=name,
                facts=numbers,
            )
        ]
    skew = timedelta(seconds=settings.evidence_clock_skew_s)
    if taken > household.received_at + skew:
        return [
            Check(
                code="photo.time_future",
                severity="risk",
                reason_vi="Thời gian chụp ghi trong ảnh muộn hơn lúc máy chủ nhận phiếu: đồng hồ máy ảnh sai hoặc "
                "ảnh đã bị chỉnh sửa.",
                reason_en="The photo's capture time is later than when the server received the form: the camera "
                "clock is wrong or the file was edited.",
                attachment_name=name,
                facts=numbers,
            )
        ]
    slack = timedelta(seconds=settings.evidence_visit_slack_s)
    reference = household.start or household.received_at
    if taken < reference - slack:
        days = (reference - taken).total_seconds() / 86400
        numbers["daysBefore"] = round(days, 2)
        against_vi = "lúc bắt đầu phỏng vấn" if household.start else "lúc máy chủ nhận phiếu"
        against_en = "the interview started" if household.start else "the server received the form"
        risky = days >= settings.evidence_photo_days_risk
        return [
            Check(
                code="photo.taken_before_visit",
                severity="risk" if risky and household.start else "warn",
                reason_vi=f"Ảnh được chụp trước {_duration_vi(days)} so với {against_vi}: có thể là ảnh cũ, không "
                "chụp trong lần rà soát này.",
                reason_en=f"The photo was taken {_duration_en(days)} before {against_en}: it may be an old photo, "
                "not taken during this visit.",
                attachment_name=name,
                facts=numbers,
            )
        ]
    if household.end is not None and taken > household.end + slack:
        return [
            Check(
                code="photo.taken_after_visit",
                severity="warn",
                reason_vi="Ảnh được chụp sau khi phiếu đã kết thúc.",
                reason_en="The photo was taken after the form was finished.",
                attachment_name=name,
                facts=numbers,
            )
        ]
    if household.start is None:
        return []
    return [
        Check(
            code="photo.taken_during_visit",
            severity="info",
            reason_vi="Ảnh được chụp trong thời gian phỏng vấn.",
            reason_en="The photo was taken during the interview.",
            attachment_name=name,
            facts=numbers,
        )
    ]


def _duration_vi(days: float) -> str:
    return f"{days:.0f} ngày" if days >= 1 else f"{days * 24:.0f} giờ"


def _duration_en(days: float) -> str:
    return f"{days:.0f} days" if days >= 1 else f"{days * 24:.0f} hours"


# The same photo elsewhere


def _reuse_checks(household: HouseholdFacts) -> list[Check]:
    checks = []
    for reuse in household.reuses:
        identical = reuse.match == "identical"
        checks.append(
            Check(
                code="photo.reused_exact" if identical else "photo.reused_similar",
                severity="risk",
                reason_vi="Ảnh này giống hệt (cùng tệp) ảnh của một hộ khác."
                if identical
                else f"Ảnh này gần như trùng với ảnh của một hộ khác (khác {reuse.distance}/64 bit mã nhận dạng ảnh):"
                " có thể cùng một ảnh được chụp lại, nén lại hoặc đổi kích thước.",
                reason_en="This photo is the very same file as a photo of another household."
                if identical
                else f"This photo is nearly identical to a photo of another household ({reuse.distance}/64 bits of "
                "their perceptual hashes differ): possibly the same picture re-shot, recompressed or resized.",
                attachment_name=reuse.name,
                facts={"match": reuse.match, "hammingDistance": reuse.distance},
                other_submission_id=reuse.other_submission_id,
            )
        )
    return checks
