"""Every SQL read that shows households or their files to someone. Each takes the reader's Scope.

The scope is always parameter $1 (null: the whole project) and always applied through `IN_SCOPE` on the
`submissions s` row, so a read that forgets it stands out in review, and tests/test_scope.py fails on it.
The ingest write path has its own statements (ingest_queries.py); they never return rows to a reader.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from service.db.rows import many, optional

if TYPE_CHECKING:
    from service.auth.access import Scope
    from service.db.pool import Connection

__all__ = [
    "IN_SCOPE",
    "AttachmentRow",
    "SubmissionRow",
    "SubmissionVersionRow",
    "attachment_rows",
    "current_xml",
    "get_submission",
    "list_submissions",
    "list_versions",
]

# The reader's scope on the household row `s`: any of its area codes in the reader's areas, or no limit.
IN_SCOPE = "($1::text[] is null or s.area_codes && $1::text[])"


class SubmissionRow(msgspec.Struct, frozen=True):
    id: int
    instance_id: str
    current_instance_id: str
    current_version_id: int
    instance_name: str | None
    review_state: str | None
    encrypted: bool
    submitter_user_id: int | None
    submitter_app_user_id: int | None
    device_id: str | None
    latitude: float | None
    longitude: float | None
    altitude: float | None
    accuracy: float | None
    attachments_expected: int
    attachments_present: int
    area_codes: list[str]
    form_version: str
    created_at: datetime
    updated_at: datetime
    # Photo evidence (service/evidence): null until first checked; its checks counted by severity.
    risk_score: int | None
    evidence_info: int
    evidence_warn: int
    evidence_risk: int


class SubmissionVersionRow(msgspec.Struct, frozen=True):
    instance_id: str
    deprecated_id: str | None
    instance_name: str | None
    is_current: bool
    device_id: str | None
    received_at: datetime


class AttachmentRow(msgspec.Struct, frozen=True):
    name: str
    exists: bool
    size: int | None
    content_type: str | None
    storage_key: str | None
    sha256: str | None


_SUBMISSION = """select s.id, s.instance_id, v.instance_id as current_instance_id, s.current_version_id,
    s.instance_name, s.review_state, s.encrypted, s.submitter_user_id, s.submitter_app_user_id, s.device_id,
    s.latitude, s.longitude, s.altitude, s.accuracy, s.attachments_expected, s.attachments_present, s.area_codes,
    fv.version as form_version, s.created_at, s.updated_at,
    s.risk_score, s.evidence_info, s.evidence_warn, s.evidence_risk
    from submissions s
    join submission_versions v on v.id = s.current_version_id
    join form_versions fv on fv.id = s.form_version_id"""


async def list_submissions(
    conn: Connection, scope: Scope, form_id: int, *, limit: int, before: tuple[datetime, int] | None
) -> list[SubmissionRow]:
    """Newest first; `before` is the (created_at, id) of the last row of the previous page."""
    created_at, last_id = before if before else (None, None)
    rows = await conn.fetch(
        f"""{_SUBMISSION}
        where s.form_id = $2 and s.deleted_at is null and {IN_SCOPE}
          and ($3::timestamptz is null or (s.created_at, s.id) < ($3::timestamptz, $4::bigint))
        order by s.created_at desc, s.id desc limit $5""",
        scope.area_filter,
        form_id,
        created_at,
        last_id,
        limit,
    )
    return many(rows, SubmissionRow)


async def get_submission(conn: Connection, scope: Scope, form_id: int, instance_id: str) -> SubmissionRow | None:
    row = await conn.fetchrow(
        f"""{_SUBMISSION}
        where s.form_id = $2 and s.instance_id = $3 and s.deleted_at is null and {IN_SCOPE}""",
        scope.area_filter,
        form_id,
        instance_id,
    )
    return optional(row, SubmissionRow)


async def current_xml(conn: Connection, scope: Scope, submission_id: int) -> str | None:
    xml: str | None = await conn.fetchval(
        f"""select v.xml from submissions s join submission_versions v on v.id = s.current_version_id
        where s.id = $2 and {IN_SCOPE}""",
        scope.area_filter,
        submission_id,
    )
    return xml


async def list_versions(conn: Connection, scope: Scope, submission_id: int) -> list[SubmissionVersionRow]:
    rows = await conn.fetch(
        f"""select v.instance_id, v.deprecated_id, v.instance_name, v.is_current, v.device_id, v.received_at
        from submission_versions v join submissions s on s.id = v.submission_id
        where v.submission_id = $2 and {IN_SCOPE}
        order by v.id desc""",
        scope.area_filter,
        submission_id,
    )
    return many(rows, SubmissionVersionRow)


async def attachment_rows(conn: Connection, scope: Scope, submission_id: int) -> list[AttachmentRow]:
    """The files of the household's current version."""
    rows = await conn.fetch(
        f"""select a.name, a.blob_id is not null as exists, b.size, b.content_type, b.storage_key,
               encode(b.sha256, 'hex') as sha256
        from submissions s
        join submission_attachments a on a.submission_version_id = s.current_version_id
        left join blobs b on b.id = a.blob_id
        where s.id = $2 and {IN_SCOPE}
        order by a.name""",
        scope.area_filter,
        submission_id,
    )
    return many(rows, AttachmentRow)
