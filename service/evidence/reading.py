"""Reading a household's evidence back: its checks, what each photo holds, thumbnails, the households sharing a photo.

Authority and reach are those of reading the household (`submission.read` and the caller's Scope): a household
outside the caller's areas is not found, and another household that shares a photo is only named when the caller's
scope reaches it (the check still says that a photo is shared, without saying with whom).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from service.errors import Problem
from service.forms.access import authorized_form
from service.jobs.queue import evidence_pending
from service.media.sniff import IMAGE_TYPES
from service.submissions.models import CheckCountsOut

from . import queries
from .models import (
    CheckOut,
    EvidenceOut,
    ExifOut,
    GpsOut,
    HouseholdLinkOut,
    PhotoOut,
    ReasonOut,
    SharedPhotoOut,
    ThumbnailsOut,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.auth.access import Access
    from service.resources import Resources

    from .queries import CheckRow, OtherHousehold, PhotoRow

__all__ = ["ThumbnailSize", "household_evidence", "read_thumbnail"]

ThumbnailSize = Literal["small", "large"]


def _household_url(base_url: str, xml_form_id: str, instance_id: str) -> str:
    return f"{base_url}/forms/{quote(xml_form_id, safe='')}/submissions/{quote(instance_id, safe=':')}"


async def household_evidence(
    res: Resources, access: Access, xml_form_id: str, instance_id: str, *, base_url: str
) -> EvidenceOut:
    """`base_url`: the project's URL as the caller reached it (…/v1[/key/{token}]/projects/{id})."""
    scope = access.scope("submission.read")
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "submission.read")
        row = await queries.household_by_instance(conn, scope, form.id, instance_id)
        if row is None:
            raise Problem.not_found("submission")
        checks = await queries.household_checks(conn, scope, row.id)
        photos = await queries.household_photos(conn, scope, row.id)
        linked = sorted({c.other_submission_id for c in checks if c.other_submission_id is not None})
        others = {o.id: o for o in await queries.households_by_ids(conn, scope, linked)}
        pending = await evidence_pending(conn, row.form_id, row.id)
    checked = row.evidence_version_id == row.current_version_id and not pending
    household = _household_url(base_url, xml_form_id, row.instance_id)
    links = {other_id: _link(base_url, other) for other_id, other in others.items()}
    return EvidenceOut(
        instance_id=row.instance_id,
        status="checked" if checked else "pending",
        checked_at=row.evidence_checked_at,
        risk_score=row.risk_score,
        counts=CheckCountsOut(info=row.evidence_info, warn=row.evidence_warn, risk=row.evidence_risk),
        checks=[_check(c, links) for c in checks],
        photos=[_photo(p, checks, links, household, res.settings.evidence_time_zone) for p in photos],
    )


def _link(base_url: str, other: OtherHousehold) -> HouseholdLinkOut:
    url = _household_url(base_url, other.xml_form_id, other.instance_id)
    return HouseholdLinkOut(
        instance_id=other.instance_id, xml_form_id=other.xml_form_id, evidence_url=f"{url}/evidence"
    )


def _check(row: CheckRow, links: dict[int, HouseholdLinkOut]) -> CheckOut:
    other = links.get(row.other_submission_id) if row.other_submission_id is not None else None
    return CheckOut(
        code=row.code,
        severity=row.severity,
        photo=row.attachment_name,
        reason=ReasonOut(vi=row.reason_vi, en=row.reason_en),
        facts=row.facts,
        other_household=other,
        other_hidden=row.other_submission_id is not None and other is None,
    )


def _photo(
    row: PhotoRow, checks: list[CheckRow], links: dict[int, HouseholdLinkOut], household: str, zone: str
) -> PhotoOut:
    shared = []
    for check in checks:
        other = links.get(check.other_submission_id) if check.other_submission_id is not None else None
        if check.attachment_name == row.name and other is not None:
            shared.append(
                SharedPhotoOut(
                    household=other,
                    match="identical" if check.code == "photo.reused_exact" else "similar",
                    hamming_distance=int(check.facts.get("hammingDistance", 0)),
                )
            )
    thumbnails = None
    if row.small_key is not None:
        base = f"{household}/attachments/{quote(row.name, safe='')}/thumbnails"
        thumbnails = ThumbnailsOut(small=f"{base}/small", large=f"{base}/large")
    return PhotoOut(
        name=row.name,
        field=row.field_path,
        received=row.blob_id is not None,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        status=_status(row),
        reason=row.reason,
        format=row.format,
        width=row.width,
        height=row.height,
        has_exif=row.has_exif,
        exif=_exif(row, zone) if row.status == "ok" and row.has_exif else None,
        perceptual_hash=f"{row.phash & 0xFFFFFFFFFFFFFFFF:016x}" if row.phash is not None else None,
        thumbnails=thumbnails,
        shared_with=shared,
    )


def _status(row: PhotoRow) -> Literal["pending", "ok", "unreadable", "not_image", "missing"]:
    if row.blob_id is None:
        return "missing"
    if row.content_type not in IMAGE_TYPES:
        return "not_image"
    if row.status == "ok":
        return "ok"
    if row.status == "unreadable":
        return "unreadable"
    return "pending"


def _exif(row: PhotoRow, zone: str) -> ExifOut:
    gps = None
    if row.gps_latitude is not None and row.gps_longitude is not None:
        gps = GpsOut(
            latitude=row.gps_latitude,
            longitude=row.gps_longitude,
            altitude=row.gps_altitude,
            accuracy=row.gps_accuracy,
            time=row.gps_time,
        )
    return ExifOut(
        taken_at=row.taken_at,
        taken_local=row.taken_local,
        taken_offset=row.taken_offset,
        zone_assumed=zone if row.taken_zone_assumed else None,
        make=row.make,
        model=row.model,
        software=row.software,
        orientation=row.orientation,
        gps=gps,
    )


async def read_thumbnail(
    res: Resources, access: Access, xml_form_id: str, instance_id: str, name: str, size: str
) -> tuple[str, int, str, AsyncIterator[bytes]]:
    """(content type, size, sha256, stream) of a photo's thumbnail; 404 until the photo is analysed."""
    if size not in {"small", "large"}:
        raise Problem.not_found("thumbnail")
    scope = access.scope("submission.read")
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "submission.read")
        row = await queries.household_by_instance(conn, scope, form.id, instance_id)
        if row is None:
            raise Problem.not_found("submission")
        photos = await queries.household_photos(conn, scope, row.id)
    photo = next((p for p in photos if p.name == name and p.blob_id is not None), None)
    if photo is None:
        raise Problem.not_found("submission attachment")
    key, length, sha = (photo.small_key, photo.small_size, photo.small_sha256)
    content_type = "image/jpeg"
    if size == "large":
        key, length, sha = (photo.large_key, photo.large_size, photo.large_sha256)
        if photo.large_is_original:
            key, length, sha = photo.storage_key, photo.size, photo.sha256
            content_type = photo.content_type or "application/octet-stream"
    if key is None or length is None or sha is None:
        raise Problem.not_found("thumbnail")
    return content_type, length, sha, res.store.read(key)
