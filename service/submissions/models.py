"""Structs of the submissions capability as the API shows them: ODK Central's Submission, SubmissionVersion and
attachment JSON (docs/api.yaml in central-backend), with a few fields of ours added (never renamed or removed)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from service.structs import Output

if TYPE_CHECKING:
    from .queries import SubmissionRow, SubmissionVersionRow, SubmitterRow

__all__ = [
    "AreaCodesOut",
    "AttachmentOut",
    "CheckCountsOut",
    "GeopointOut",
    "SubmissionOut",
    "SubmitterOut",
    "VersionOut",
]


class GeopointOut(Output, kw_only=True):
    latitude: float
    longitude: float
    altitude: float | None
    accuracy: float | None


class AreaCodesOut(Output, kw_only=True):
    district: str | None
    commune: str | None
    village: str | None


class SubmitterOut(Output, kw_only=True):
    """Central's actor, as `X-Extended-Metadata: true` shows the submitter (an app user is a `field_key`)."""

    id: int
    type: str
    display_name: str
    created_at: datetime
    updated_at: datetime | None = None
    deleted_at: datetime | None = None

    @classmethod
    def of(cls, row: SubmitterRow) -> SubmitterOut:
        return cls(id=row.id, type=row.type, display_name=row.display_name, created_at=row.created_at)


class CheckCountsOut(Output, kw_only=True):
    """The household's evidence checks by severity (service/evidence)."""

    info: int
    warn: int
    risk: int


class VersionOut(Output, kw_only=True):
    """Central's SubmissionVersion (one per edit, the newest current), plus the deprecatedID it replaced."""

    instance_id: str
    instance_name: str | None
    submitter_id: int | None
    device_id: str | None
    user_agent: str | None
    created_at: datetime
    current: bool
    form_version: str | None = None
    deprecated_id: str | None = None

    @classmethod
    def of(cls, row: SubmissionVersionRow) -> VersionOut:
        return cls(
            instance_id=row.instance_id,
            instance_name=row.instance_name,
            submitter_id=row.submitter_id,
            device_id=row.device_id,
            user_agent=row.user_agent,
            created_at=row.received_at,
            current=row.is_current,
            form_version=row.form_version,
            deprecated_id=row.deprecated_id,
        )


class SubmissionOut(Output, kw_only=True):
    # Central's fields
    instance_id: str
    submitter_id: int | None
    device_id: str | None
    user_agent: str | None
    review_state: str | None
    created_at: datetime
    updated_at: datetime | None
    deleted_at: datetime | None = None
    current_version: VersionOut
    submitter: SubmitterOut | msgspec.UnsetType = msgspec.UNSET  # only with X-Extended-Metadata: true
    # Ours
    instance_name: str | None
    form_version: str
    # Encrypted submissions are stored as received; the server cannot read or check their content.
    encrypted: bool
    attachments_expected: int
    attachments_present: int
    geopoint: GeopointOut | None
    areas: AreaCodesOut
    reviewed_at: datetime | None
    # The province's review (service/stages/): surveyed, meeting, re_review, posted, recognised.
    stage: str
    final_classification: str | None
    # Photo evidence: 0-100, null until the checks first ran; `checks` counts them by severity.
    risk_score: int | None = None
    checks: CheckCountsOut | None = None
    # The server's classification (service/classification; null where the rules do not apply) and whether the
    # phone's provisional result differs from it.
    classification: str | None = None
    classification_mismatch: bool | None = None

    @classmethod
    def of(cls, row: SubmissionRow, *, extended: bool = False) -> SubmissionOut:
        point = None
        if row.latitude is not None and row.longitude is not None:
            point = GeopointOut(
                latitude=row.latitude, longitude=row.longitude, altitude=row.altitude, accuracy=row.accuracy
            )
        return cls(
            instance_id=row.instance_id,
            submitter_id=row.submitter_id,
            device_id=row.device_id,
            user_agent=row.user_agent,
            review_state=row.review_state,
            created_at=row.created_at,
            updated_at=row.updated_at,
            current_version=VersionOut(
                instance_id=row.current_instance_id,
                instance_name=row.instance_name,
                submitter_id=row.current_submitter_id,
                device_id=row.current_device_id,
                user_agent=row.current_user_agent,
                created_at=row.current_created_at,
                current=True,
            ),
            submitter=SubmitterOut.of(row.submitter) if extended and row.submitter else msgspec.UNSET,
            instance_name=row.instance_name,
            form_version=row.form_version,
            encrypted=row.encrypted,
            attachments_expected=row.attachments_expected,
            attachments_present=row.attachments_present,
            geopoint=point,
            areas=AreaCodesOut(district=row.district_code, commune=row.commune_code, village=row.village_code),
            reviewed_at=row.reviewed_at,
            stage=row.stage,
            final_classification=row.final_classification,
            risk_score=row.risk_score,
            checks=CheckCountsOut(info=row.evidence_info, warn=row.evidence_warn, risk=row.evidence_risk),
            classification=row.classification,
            classification_mismatch=row.classification_mismatch,
        )


class AttachmentOut(Output, kw_only=True):
    name: str
    exists: bool
    size: int | None = None
    content_type: str | None = None
    sha256: str | None = msgspec.field(default=None)
