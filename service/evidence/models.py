"""The evidence of one household as the API shows it (camelCase, like the rest of /v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from service.structs import Output
from service.submissions.models import CheckCountsOut

__all__ = [
    "CheckOut",
    "EvidenceOut",
    "ExifOut",
    "GpsOut",
    "HouseholdLinkOut",
    "PhotoOut",
    "ReasonOut",
    "SharedPhotoOut",
    "ThumbnailsOut",
]


class ReasonOut(Output, kw_only=True):
    vi: str
    en: str


class HouseholdLinkOut(Output, kw_only=True):
    """Another household, named only when the caller's scope reaches it."""

    instance_id: str
    xml_form_id: str
    evidence_url: str


class CheckOut(Output, kw_only=True):
    code: str
    severity: Literal["info", "warn", "risk"]
    # The photo the check is about (its file name in the submission), or null for the household.
    photo: str | None
    reason: ReasonOut
    # The numbers behind the check (distances, tolerances, times, thresholds).
    facts: dict[str, Any]
    # For a reused photo: the other household, null when it is outside the caller's areas (see otherHidden).
    other_household: HouseholdLinkOut | None = None
    other_hidden: bool = False


class GpsOut(Output, kw_only=True):
    latitude: float
    longitude: float
    altitude: float | None
    accuracy: float | None
    time: datetime | None


class ExifOut(Output, kw_only=True):
    taken_at: datetime | None
    taken_local: str | None
    taken_offset: str | None
    # The zone the local time was read in when the photo carried no offset.
    zone_assumed: str | None
    make: str | None
    model: str | None
    software: str | None
    orientation: int | None
    gps: GpsOut | None


class ThumbnailsOut(Output, kw_only=True):
    small: str
    large: str


class SharedPhotoOut(Output, kw_only=True):
    household: HouseholdLinkOut
    match: Literal["identical", "similar"]
    hamming_distance: int


class PhotoOut(Output, kw_only=True):
    name: str
    field: str | None
    received: bool
    content_type: str | None
    size: int | None
    sha256: str | None
    # pending: not analysed yet; ok; unreadable (see reason); not_image: a file the household sends that is not a photo.
    status: Literal["pending", "ok", "unreadable", "not_image", "missing"]
    reason: str | None
    format: str | None
    width: int | None
    height: int | None
    has_exif: bool | None
    exif: ExifOut | None
    # The 64-bit dHash, 16 hex digits.
    perceptual_hash: str | None
    thumbnails: ThumbnailsOut | None
    shared_with: list[SharedPhotoOut]


class EvidenceOut(Output, kw_only=True):
    instance_id: str
    # checked: the checks are of the current version; pending: not checked yet (or not since the last change).
    status: Literal["checked", "pending"]
    checked_at: datetime | None
    risk_score: int | None
    counts: CheckCountsOut
    checks: list[CheckOut]
    photos: list[PhotoOut]
