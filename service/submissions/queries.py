"""Every SQL read that shows households or their files to someone. Each takes the reader's Scope.

The scope is always parameter $1 (null: the whole project) and always applied through `IN_SCOPE` on the
`submissions s` row, so a read that forgets it stands out in review, and tests/test_scope.py fails on it.
The ingest write path has its own statements (ingest_queries.py); they never return rows to a reader.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from service.db.rows import many, optional
from service.stages.models import Classification, Stage

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.auth.access import Scope
    from service.db.pool import Connection

__all__ = [
    "IN_SCOPE",
    "HOUSEHOLD_FILTER",
    "ExportRow",
    "HouseholdFilter",
    "count_households",
    "household_filter_args",
    "iterate_households",
    "AttachmentRow",
    "SubmissionRow",
    "SubmissionVersionRow",
    "SubmitterRow",
    "attachment_rows",
    "current_xml",
    "get_submission",
    "list_submissions",
    "list_versions",
]

# The reader's scope on the household row `s`: any of its area codes in the reader's areas, or no limit.
IN_SCOPE = "($1::text[] is null or s.area_codes && $1::text[])"


class SubmitterRow(msgspec.Struct, frozen=True):
    """The actor who sent a household: a web user, or an app user (Central's `field_key`)."""

    id: int
    type: str
    display_name: str
    created_at: datetime


class SubmissionRow(msgspec.Struct, frozen=True):
    id: int
    instance_id: str
    current_version_id: int
    instance_name: str | None
    review_state: str | None
    encrypted: bool
    submitter_id: int | None
    device_id: str | None
    user_agent: str | None
    latitude: float | None
    longitude: float | None
    altitude: float | None
    accuracy: float | None
    attachments_expected: int
    attachments_present: int
    district_code: str | None
    commune_code: str | None
    village_code: str | None
    area_codes: list[str]
    form_version: str
    created_at: datetime
    # Central's updatedAt: null until something changed after the household arrived.
    updated_at: datetime | None
    reviewed_at: datetime | None
    # Where it is in the province's review (service/stages/).
    stage: Stage
    stage_changed_at: datetime | None
    final_classification: Classification | None
    # Photo evidence (service/evidence): null until first checked; its checks counted by severity.
    risk_score: int | None
    evidence_info: int
    evidence_warn: int
    evidence_risk: int
    # The server's classification (service/classification) and whether the phone computed another one.
    classification: str | None
    classification_mismatch: bool | None
    # Its current version (after edits, the newest).
    current_instance_id: str
    current_submitter_id: int | None
    current_device_id: str | None
    current_user_agent: str | None
    current_created_at: datetime
    submitter: SubmitterRow | None


class SubmissionVersionRow(msgspec.Struct, frozen=True):
    instance_id: str
    deprecated_id: str | None
    instance_name: str | None
    is_current: bool
    submitter_id: int | None
    device_id: str | None
    user_agent: str | None
    form_version: str
    received_at: datetime


class AttachmentRow(msgspec.Struct, frozen=True):
    name: str
    exists: bool
    size: int | None
    content_type: str | None
    storage_key: str | None
    sha256: str | None


_SUBMISSION = """select s.id, s.instance_id, s.current_version_id, s.instance_name, s.review_state, s.encrypted,
    coalesce(s.submitter_user_id, s.submitter_app_user_id) as submitter_id, s.device_id, s.user_agent,
    s.latitude, s.longitude, s.altitude, s.accuracy, s.attachments_expected, s.attachments_present,
    s.district_code, s.commune_code, s.village_code, s.area_codes, fv.version as form_version, s.created_at,
    nullif(s.updated_at, s.created_at) as updated_at, s.reviewed_at,
    s.stage, s.stage_changed_at, s.final_classification,
    s.risk_score, s.evidence_info, s.evidence_warn, s.evidence_risk,
    s.classification, s.classification_mismatch,
    v.instance_id as current_instance_id,
    coalesce(v.submitter_user_id, v.submitter_app_user_id) as current_submitter_id,
    v.device_id as current_device_id, v.user_agent as current_user_agent, v.received_at as current_created_at,
    case when u.id is not null then json_build_object('id', u.id, 'type', 'user',
             'display_name', coalesce(nullif(u.display_name, ''), u.email), 'created_at', u.created_at)
         when a.id is not null then json_build_object('id', a.id, 'type', 'field_key',
             'display_name', a.display_name, 'created_at', a.created_at) end as submitter
    from submissions s
    join submission_versions v on v.id = s.current_version_id
    join form_versions fv on fv.id = s.form_version_id
    left join users u on u.id = s.submitter_user_id
    left join app_users a on a.id = s.submitter_app_user_id"""


class HouseholdFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which households an export, a feed or an OData page covers, always within the reader's scope."""

    states: list[str] | None = None  # "received": no decision yet
    area: str | None = None  # any area code (district, commune, village)
    since: datetime | None = None  # received at or after
    until: datetime | None = None  # received before
    form_version: str | None = None
    instance_ids: list[str] | None = None


# $1 scope, $2 form, then the filter ($3 to $8); fragments that add conditions number their parameters from $9.
HOUSEHOLD_FILTER = f"""s.form_id = $2 and s.deleted_at is null and {IN_SCOPE}
    and ($3::text[] is null or s.review_state = any($3::text[])
         or (s.review_state is null and 'received' = any($3::text[])))
    and ($4::text is null or s.area_codes @> array[$4::text])
    and ($5::timestamptz is null or s.created_at >= $5::timestamptz)
    and ($6::timestamptz is null or s.created_at < $6::timestamptz)
    and ($7::text is null or fv.version = $7::text)
    and ($8::text[] is null or s.instance_id = any($8::text[]))"""


def household_filter_args(scope: Scope, form_id: int, households: HouseholdFilter) -> list[object]:
    return [
        scope.area_filter,
        form_id,
        households.states,
        households.area,
        households.since,
        households.until,
        households.form_version,
        households.instance_ids,
    ]


class ExportRow(msgspec.Struct, frozen=True):
    """A household with its current answers, as exports and OData show it."""

    id: int
    instance_id: str
    current_instance_id: str
    instance_name: str | None
    submitter_id: int | None
    submitter_name: str | None
    device_id: str | None
    review_state: str | None
    form_version: str
    encrypted: bool
    created_at: datetime
    updated_at: datetime | None
    # The household's own updated_at (moves with every change; what a copy elsewhere compares to be newer).
    source_updated_at: datetime
    reviewed_at: datetime | None
    attachments_present: int
    attachments_expected: int
    edits: int
    district_code: str | None
    commune_code: str | None
    village_code: str | None
    latitude: float | None
    longitude: float | None
    altitude: float | None
    accuracy: float | None
    answers: dict[str, Any] | None
    stage: Stage
    final_classification: Classification | None
    risk_score: int | None
    evidence_info: int
    evidence_warn: int
    evidence_risk: int
    # The server's classification (service/classification/), the phone's, and the whole result.
    classification: str | None
    provisional_classification: str | None
    classification_mismatch: bool | None
    classification_detail: dict[str, Any] | None


_EXPORT = """select s.id, s.instance_id, v.instance_id as current_instance_id, s.instance_name,
    coalesce(s.submitter_user_id, s.submitter_app_user_id) as submitter_id,
    coalesce(nullif(u.display_name, ''), u.email, a.display_name) as submitter_name,
    s.device_id, s.review_state, fv.version as form_version, s.encrypted, s.created_at,
    nullif(s.updated_at, s.created_at) as updated_at, s.updated_at as source_updated_at, s.reviewed_at,
    s.attachments_present, s.attachments_expected,
    (select count(*) - 1 from submission_versions e where e.submission_id = s.id)::int as edits,
    s.district_code, s.commune_code, s.village_code, s.latitude, s.longitude, s.altitude, s.accuracy, v.answers,
    s.stage, s.final_classification, s.risk_score, s.evidence_info, s.evidence_warn, s.evidence_risk,
    s.classification, s.provisional_classification, s.classification_mismatch, s.classification_detail
    from submissions s
    join submission_versions v on v.id = s.current_version_id
    join form_versions fv on fv.id = s.form_version_id
    left join users u on u.id = s.submitter_user_id
    left join app_users a on a.id = s.submitter_app_user_id"""


async def iterate_households(
    conn: Connection,
    scope: Scope,
    form_id: int,
    households: HouseholdFilter,
    *,
    newest_first: bool = True,
    after: tuple[datetime, int] | None = None,
    limit: int | None = None,
    prefetch: int = 500,
) -> AsyncIterator[ExportRow]:
    """Households one by one from a server-side cursor (call inside a transaction): memory stays flat however
    many there are. Ordered by (created_at, id), newest first unless told otherwise; `after` continues from a
    row of a previous page (exclusive), in the same direction."""
    created_at, last_id = after if after else (None, None)
    direction, compare = ("desc", "<") if newest_first else ("asc", ">")
    query = f"""{_EXPORT}
        where {HOUSEHOLD_FILTER}
          and ($9::timestamptz is null or (s.created_at, s.id) {compare} ($9::timestamptz, $10::bigint))
        order by s.created_at {direction}, s.id {direction}
        limit $11"""
    args = [*household_filter_args(scope, form_id, households), created_at, last_id, limit]
    async for record in conn.cursor(query, *args, prefetch=prefetch):
        yield msgspec.convert(record, ExportRow)


async def count_households(conn: Connection, scope: Scope, form_id: int, households: HouseholdFilter) -> int:
    count: int = await conn.fetchval(
        f"""select count(*) from submissions s join form_versions fv on fv.id = s.form_version_id
        where {HOUSEHOLD_FILTER}""",
        *household_filter_args(scope, form_id, households),
    )
    return count


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
        f"""select v.instance_id, v.deprecated_id, v.instance_name, v.is_current,
               coalesce(v.submitter_user_id, v.submitter_app_user_id) as submitter_id, v.device_id, v.user_agent,
               fv.version as form_version, v.received_at
        from submission_versions v
        join submissions s on s.id = v.submission_id
        join form_versions fv on fv.id = v.form_version_id
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
