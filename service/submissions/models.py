"""Structs of the submissions capability as the API shows them (close to ODK Central's JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from service.structs import Output

if TYPE_CHECKING:
    from .queries import SubmissionRow, SubmissionVersionRow

__all__ = ["AttachmentOut", "CheckCountsOut", "GeopointOut", "SubmissionOut", "VersionOut"]


class GeopointOut(Output, kw_only=True):
    latitude: float
    longitude: float
    altitude: float | None
    accuracy: float | None


class CheckCountsOut(Output, kw_only=True):
    """The household's evidence checks by severity (service/evidence)."""

    info: int
    warn: int
    risk: int


class SubmissionOut(Output, kw_only=True):
    instance_id: str
    current_instance_id: str
    instance_name: str | None
    review_state: str | None
    # Encrypted submissions are stored as received; the server cannot read or check their content.
    encrypted: bool
    submitter_id: int | None
    app_user_id: int | None
    device_id: str | None
    form_version: str
    attachments_expected: int
    attachments_present: int
    geopoint: GeopointOut | None
    created_at: datetime
    updated_at: datetime | None
    # Photo evidence: 0-100, null until the checks first ran; `checks` counts them by severity.
    risk_score: int | None = None
    checks: CheckCountsOut | None = None

    @classmethod
    def of(cls, row: SubmissionRow) -> SubmissionOut:
        point = None
        if row.latitude is not None and row.longitude is not None:
            point = GeopointOut(
                latitude=row.latitude, longitude=row.longitude, altitude=row.altitude, accuracy=row.accuracy
            )
        return cls(
            instance_id=row.instance_id,
            current_instance_id=row.current_instance_id,
            instance_name=row.instance_name,
            review_state=row.review_state,
            encrypted=row.encrypted,
            submitter_id=row.submitter_user_id,
            app_user_id=row.submitter_app_user_id,
            device_id=row.device_id,
            form_version=row.form_version,
            attachments_expected=row.attachments_expected,
            attachments_present=row.attachments_present,
            geopoint=point,
            created_at=row.created_at,
            updated_at=row.updated_at,
            risk_score=row.risk_score,
            checks=CheckCountsOut(info=row.evidence_info, warn=row.evidence_warn, risk=row.evidence_risk),
        )


class VersionOut(Output, kw_only=True):
    instance_id: str
    deprecated_id: str | None
    instance_name: str | None
    current: bool
    device_id: str | None
    received_at: datetime

    @classmethod
    def of(cls, row: SubmissionVersionRow) -> VersionOut:
        return cls(
            instance_id=row.instance_id,
            deprecated_id=row.deprecated_id,
            instance_name=row.instance_name,
            current=row.is_current,
            device_id=row.device_id,
            received_at=row.received_at,
        )


class AttachmentOut(Output, kw_only=True):
    name: str
    exists: bool
    size: int | None = None
    content_type: str | None = None
    sha256: str | None = msgspec.field(default=None)
