"""All SQL of the exports capability. The tables are written by PostgreSQL itself (COPY … TO STDOUT, CSV), from
SQL generated once per form version from the export plan (plan.py): the web process only moves bytes, so a
100,000-household export costs the event loop nothing but I/O, and memory stays flat.

Every statement takes the reader's Scope as $1 and applies the households filter of submissions/queries.py
(HOUSEHOLD_FILTER, which applies IN_SCOPE). Generated SQL only ever contains: field names that passed the XML-name
check in plan.py, choice values as properly quoted literals, and fixed fragments; every value from the request is a
bind parameter.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import msgspec

from service.db.rows import many, optional
from service.submissions.queries import HOUSEHOLD_FILTER, IN_SCOPE, household_filter_args

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine

    from service.auth.access import Scope
    from service.db.pool import Connection
    from service.submissions.queries import HouseholdFilter

    from .plan import Column, Table

__all__ = [
    "ChangeRow",
    "DecisionRow",
    "EvidenceFlagRow",
    "FileRow",
    "StageStepRow",
    "household_decisions",
    "household_evidence",
    "household_stages",
    "household_files",
    "MediaFile",
    "changes_after",
    "feed_horizon",
    "copy_table",
    "export_stamp",
    "geojson_features",
    "media_files",
    "sheet_rows",
    "table_sql",
]

_FROM = """from submissions s
    join submission_versions v on v.id = s.current_version_id
    join form_versions fv on fv.id = s.form_version_id
    left join users u on u.id = s.submitter_user_id
    left join app_users au on au.id = s.submitter_app_user_id
    cross join lateral (select v.answers || '{}'::jsonb as a offset 0) x"""
# $9: {choice list: {value: label}} for labels; $10: the URL files are downloaded from, up to the instanceID.
_LABELS, _URL_BASE = "$9::jsonb", "$10::text"
# A table without labels or files still names their parameters, so PostgreSQL knows their types.
_TYPED = "and ($9::jsonb is null or true) and ($10::text is null or true)"


def _literal(value: str) -> str:
    if "\x00" in value:
        raise ValueError("a NUL character cannot be exported")
    return "'" + value.replace("'", "''") + "'"


def _path(keys: tuple[str, ...]) -> str:
    return "'{" + ",".join(keys) + "}'"


def _label(list_name: str | None, value_sql: str) -> str:
    if list_name is None:
        return value_sql
    return f"coalesce({_LABELS} #>> array[{_literal(list_name)}, {value_sql}], {value_sql})"


def _url_encoded(sql: str) -> str:
    return f"replace(replace(replace(replace({sql}, '%', '%25'), ' ', '%20'), '#', '%23'), '?', '%3F')"


def _expression(column: Column, row: str) -> str:
    keys = column.keys
    text = f"{row} #>> {_path(keys)}"
    if column.kind == "text":
        return _label(column.choices, text)
    if column.kind == "geopoint":
        part = {"Latitude": "coordinates,1", "Longitude": "coordinates,0", "Altitude": "coordinates,2"}.get(
            column.part or "", "properties,accuracy"
        )
        return f"{row} #>> '{{{','.join(keys)},{part}}}'"
    value = f"{row} #> {_path(keys)}"
    if column.kind == "multiple":
        return (
            f"(select string_agg({_label(column.choices, 'e')}, ' ') from jsonb_array_elements_text("
            f"case when jsonb_typeof({value}) = 'array' then {value} else '[]'::jsonb end) e)"
        )
    if column.kind == "option":
        return f"case when {value} ? {_literal(column.part or '')} then '1' else '0' end"
    if column.kind == "file":
        return text
    if column.kind == "file_sha256":
        return (
            "(select encode(b.sha256, 'hex') from submission_attachments sa join blobs b on b.id = sa.blob_id "
            f"where sa.submission_version_id = v.id and sa.name = {text})"
        )
    # file_url
    return (
        f"case when {text} is not null then {_URL_BASE} || s.instance_id || '/attachments/' || {_url_encoded(text)} end"
    )


_UTC_TEXT = """to_char({} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""
_ROOT_SYSTEM = """s.instance_id as "KEY",
    coalesce(s.submitter_user_id, s.submitter_app_user_id) as "SubmitterID",
    coalesce(nullif(u.display_name, ''), u.email, au.display_name) as "SubmitterName",
    s.attachments_present as "AttachmentsPresent", s.attachments_expected as "AttachmentsExpected",
    case when s.encrypted then 'not decrypted' end as "Status",
    s.review_state as "ReviewState", s.device_id as "DeviceID",
    (select count(*) - 1 from submission_versions e where e.submission_id = s.id) as "Edits",
    fv.version as "FormVersion",
    s.district_code as "DistrictCode", s.commune_code as "CommuneCode", s.village_code as "VillageCode",
    to_char(s.reviewed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "ReviewedAt",
    s.stage as "Stage", s.final_classification as "FinalClassification", s.risk_score as "RiskScore",
    s.classification as "Classification", s.classification_mismatch::text as "ClassificationMismatch\""""


def _source(table: Table) -> tuple[list[str], str, str, str, list[str]]:
    """(lateral joins, the row source, KEY, PARENT_KEY, order) of a repeat table."""
    joins, source, key, parent_key, order = [], "x.a", "s.instance_id", "s.instance_id", []
    for level, (keys, name) in enumerate(zip(table.repeat_chain, table.key_names, strict=True), start=1):
        alias = f"r{level}"
        array = f"{source} #> {_path(keys)}"
        joins.append(
            f"cross join lateral jsonb_array_elements(case when jsonb_typeof({array}) = 'array' then {array} "
            f"else '[]'::jsonb end) with ordinality as {alias}(value, idx)"
        )
        parent_key = key
        prefix = "/".join(keys[:-1])
        step = f"{prefix}/{name}" if prefix else name
        key = f"{key} || '/{step}[' || {alias}.idx || ']'"
        source = f"{alias}.value"
        order.append(f"{alias}.idx")
    return joins, source, key, parent_key, order


def table_sql(table: Table) -> str:
    """The SELECT that produces one table's rows, newest household first (parameters $1 to $10)."""
    if table.is_root:
        selected = [f'{_UTC_TEXT.format("s.created_at")} as "SubmissionDate"']
        selected += [f'{_expression(c, "x.a")} as "{c.header}"' for c in table.columns[1:]]
        selected.append(_ROOT_SYSTEM)
        return (
            f"select {', '.join(selected)} {_FROM} where {HOUSEHOLD_FILTER} {_TYPED} "
            "order by s.created_at desc, s.id desc"
        )
    joins, source, key, parent_key, order = _source(table)
    selected = [f'{_expression(c, source)} as "{c.header}"' for c in table.columns]
    selected += [f'{parent_key} as "PARENT_KEY"', f'{key} as "KEY"']
    return (
        f"select {', '.join(selected)} {_FROM} {' '.join(joins)} where {HOUSEHOLD_FILTER} {_TYPED} "
        f"order by s.created_at desc, s.id desc, {', '.join(order)}"
    )


async def copy_table(
    conn: Connection,
    scope: Scope,
    form_id: int,
    households: HouseholdFilter,
    sql: str,
    *,
    labels: dict[str, dict[str, str]] | None,
    url_base: str,
    output: Callable[[bytes], Coroutine[Any, Any, None]],
) -> None:
    """Stream one table as CSV (with its header row) into `output`, chunk by chunk, as PostgreSQL writes it."""
    args: list[Any] = [*household_filter_args(scope, form_id, households), labels, url_base]
    await conn.copy_from_query(sql, *args, output=output, format="csv", header=True)


# Characters XML 1.0 does not allow; a spreadsheet with one of them does not open.
_XML_UNSAFE = r"E'[\\x01-\\x08\\x0B\\x0C\\x0E-\\x1F]'"


def _xml_text(expression: str) -> str:
    """Text escaped for XML by PostgreSQL (no libxml needed: the embedded server is built without it)."""
    cleaned = f"regexp_replace({expression}, {_XML_UNSAFE}, '', 'g')"
    return f"replace(replace(replace({cleaned}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"


def _cell(expression: str, *, numeric: bool) -> str:
    text_cell = f"'<c t=\"inlineStr\"><is><t xml:space=\"preserve\">' || {_xml_text(expression)} || '</t></is></c>'"
    # Cells carry no reference, so an empty one must still be written (<c/>) or the rest would shift left.
    if numeric:
        return (
            f"coalesce(case when ({expression}) ~ '^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$' "
            f"then '<c><v>' || ({expression}) || '</v></c>' else {text_cell} end, '<c/>')"
        )
    return f"coalesce({text_cell}, '<c/>')"


def sheet_sql(table: Table) -> str:
    """Like table_sql, but every row comes out as the SpreadsheetML of one sheet row (parameters $1 to $10)."""
    if table.is_root:
        cells = [_cell(_UTC_TEXT.format("s.created_at"), numeric=False)]
        cells += [_cell(_expression(c, "x.a"), numeric=c.numeric) for c in table.columns[1:]]
        cells += [_cell(expression, numeric=numeric) for expression, numeric in _ROOT_SYSTEM_CELLS]
        joins: list[str] = []
        order = ["s.created_at desc", "s.id desc"]
    else:
        joins, source, key, parent_key, levels = _source(table)
        cells = [_cell(_expression(c, source), numeric=c.numeric) for c in table.columns]
        cells += [_cell(parent_key, numeric=False), _cell(key, numeric=False)]
        order = ["s.created_at desc", "s.id desc", *levels]
    # PostgreSQL passes at most 100 arguments to a function: wide forms (the example form has 120 columns) concatenate
    # their cells in groups.
    groups = [f"concat({', '.join(cells[i : i + 90])})" for i in range(0, len(cells), 90)]
    return (
        f"select '<row>' || concat({', '.join(groups)}) || '</row>' as row {_FROM} {' '.join(joins)} "
        f"where {HOUSEHOLD_FILTER} {_TYPED} order by {', '.join(order)}"
    )


# The households' table's own columns after the answers, as (expression, numeric) for spreadsheet cells.
_ROOT_SYSTEM_CELLS = [
    ("s.instance_id", False),
    ("coalesce(s.submitter_user_id, s.submitter_app_user_id)::text", True),
    ("coalesce(nullif(u.display_name, ''), u.email, au.display_name)", False),
    ("s.attachments_present::text", True),
    ("s.attachments_expected::text", True),
    ("case when s.encrypted then 'not decrypted' end", False),
    ("s.review_state", False),
    ("s.device_id", False),
    ("(select count(*) - 1 from submission_versions e where e.submission_id = s.id)::text", True),
    ("fv.version", False),
    ("s.district_code", False),
    ("s.commune_code", False),
    ("s.village_code", False),
    (_UTC_TEXT.format("s.reviewed_at"), False),
    ("s.stage", False),
    ("s.final_classification", False),
    ("s.risk_score::text", True),
    ("s.classification", False),
    ("s.classification_mismatch::text", False),
]
ROOT_SYSTEM_HEADERS = [
    "KEY",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "ReviewState",
    "DeviceID",
    "Edits",
    "FormVersion",
    "DistrictCode",
    "CommuneCode",
    "VillageCode",
    "ReviewedAt",
    "Stage",
    "FinalClassification",
    "RiskScore",
    "Classification",
    "ClassificationMismatch",
]


async def sheet_rows(
    conn: Connection,
    scope: Scope,
    form_id: int,
    households: HouseholdFilter,
    sql: str,
    *,
    labels: dict[str, dict[str, str]] | None,
    url_base: str,
) -> AsyncIterator[str]:
    """One sheet's rows as SpreadsheetML, from a server-side cursor (call inside a transaction)."""
    args: list[Any] = [*household_filter_args(scope, form_id, households), labels, url_base]
    async for record in conn.cursor(sql, *args, prefetch=500):
        yield str(record["row"])


async def geojson_features(
    conn: Connection, scope: Scope, form_id: int, households: HouseholdFilter
) -> AsyncIterator[str]:
    """Each household as a GeoJSON Feature (its main geopoint; null geometry without one), newest first."""
    query = f"""select json_build_object(
            'type', 'Feature',
            'id', s.instance_id,
            'geometry', case when s.longitude is null then null else json_build_object(
                'type', 'Point',
                'coordinates', case when s.altitude is null then json_build_array(s.longitude, s.latitude)
                               else json_build_array(s.longitude, s.latitude, s.altitude) end) end,
            'properties', json_build_object(
                'instanceId', s.instance_id, 'instanceName', s.instance_name, 'reviewState', s.review_state,
                'accuracy', s.accuracy, 'altitude', s.altitude, 'submitterId',
                coalesce(s.submitter_user_id, s.submitter_app_user_id), 'createdAt', s.created_at,
                'districtCode', s.district_code, 'communeCode', s.commune_code, 'villageCode', s.village_code,
                'areaCodes', s.area_codes, 'formVersion', fv.version, 'stage', s.stage,
                'finalClassification', s.final_classification, 'classification', s.classification,
                'tempHouse2023', s.classification_detail #> '{{tempHouse2023,eligible}}',
                'riskScore', s.risk_score,
                'checks', json_build_object('info', s.evidence_info, 'warn', s.evidence_warn,
                                            'risk', s.evidence_risk)))::text as feature
        from submissions s join form_versions fv on fv.id = s.form_version_id
        where {HOUSEHOLD_FILTER}
        order by s.created_at desc, s.id desc"""
    async for record in conn.cursor(query, *household_filter_args(scope, form_id, households), prefetch=1000):
        yield str(record["feature"])


class MediaFile(msgspec.Struct, frozen=True):
    name: str
    storage_key: str
    size: int


async def media_files(conn: Connection, scope: Scope, form_id: int, households: HouseholdFilter) -> list[MediaFile]:
    """The files of the selected households' current versions that have arrived (names, not contents)."""
    rows = await conn.fetch(
        f"""select sa.name, b.storage_key, b.size
        from submissions s
        join form_versions fv on fv.id = s.form_version_id
        join submission_attachments sa on sa.submission_version_id = s.current_version_id
        join blobs b on b.id = sa.blob_id
        where {HOUSEHOLD_FILTER}
        order by s.created_at desc, s.id desc, sa.name""",
        *household_filter_args(scope, form_id, households),
    )
    return many(rows, MediaFile)


async def export_stamp(conn: Connection, form_id: int) -> int:
    """The form's latest change: an export is the same as long as this is (with the same request and scope)."""
    stamp: int = await conn.fetchval("select coalesce(max(id), 0) from submission_changes where form_id = $1", form_id)
    return stamp


class ChangeRow(msgspec.Struct, frozen=True):
    txid: str
    id: int
    submission_id: int
    instance_id: str
    kind: str
    changed_at: datetime
    actor_id: int | None
    details: dict[str, Any] | None


async def changes_after(
    conn: Connection, scope: Scope, form_id: int, after: tuple[str, int] | None, limit: int
) -> list[ChangeRow]:
    """Changes in commit order after a cursor, up to the oldest transaction still running: a transaction that
    commits late has a smaller txid than that horizon's, so it is never behind a cursor that moved on (0003)."""
    txid, last_id = after if after else ("0", 0)
    rows = await conn.fetch(
        f"""select c.txid::text as txid, c.id, c.submission_id, s.instance_id, c.kind, c.changed_at,
               c.actor_user_id as actor_id, c.details
        from submission_changes c join submissions s on s.id = c.submission_id
        where c.form_id = $2 and {IN_SCOPE}
          and (c.txid, c.id) > ($3::text::xid8, $4::bigint)
          and c.txid < pg_snapshot_xmin(pg_current_snapshot())
        order by c.txid, c.id limit $5""",
        scope.area_filter,
        form_id,
        txid,
        last_id,
        limit,
    )
    return many(rows, ChangeRow)


class _Horizon(msgspec.Struct, frozen=True):
    txid: str
    id: int


async def feed_horizon(conn: Connection, form_id: int) -> tuple[str, int] | None:
    """The newest change a reader of the feed may see now (a cursor at it skips nothing before it)."""
    row = await conn.fetchrow(
        """select txid::text as txid, id from submission_changes
        where form_id = $1 and txid < pg_snapshot_xmin(pg_current_snapshot())
        order by txid desc, id desc limit 1""",
        form_id,
    )
    horizon = optional(row, _Horizon)
    return (horizon.txid, horizon.id) if horizon else None


class FileRow(msgspec.Struct, frozen=True):
    submission_id: int
    instance_id: str
    name: str
    field_path: str | None
    sha256: str | None
    size: int | None
    content_type: str | None


async def household_files(conn: Connection, scope: Scope, submission_ids: list[int]) -> list[FileRow]:
    """The files each household's current version names, arrived or not."""
    rows = await conn.fetch(
        f"""select s.id as submission_id, s.instance_id, sa.name, sa.field_path, encode(b.sha256, 'hex') as sha256,
               b.size, b.content_type
        from submissions s
        join submission_attachments sa on sa.submission_version_id = s.current_version_id
        left join blobs b on b.id = sa.blob_id
        where s.id = any($2::bigint[]) and {IN_SCOPE}
        order by s.id, sa.name""",
        scope.area_filter,
        submission_ids,
    )
    return many(rows, FileRow)


class DecisionRow(msgspec.Struct, frozen=True):
    id: int
    instance_id: str
    from_state: str | None
    to_state: str | None
    reason_code: str | None
    note: str | None
    actor_id: int | None
    batch_id: Any
    created_at: datetime
    undone_at: datetime | None


async def household_decisions(conn: Connection, scope: Scope, submission_ids: list[int]) -> list[DecisionRow]:
    rows = await conn.fetch(
        f"""select r.id, s.instance_id, r.from_state, r.to_state, r.reason_code, r.note, r.actor_user_id as actor_id,
               r.batch_id, r.created_at, r.undone_at
        from submission_reviews r join submissions s on s.id = r.submission_id
        where r.submission_id = any($2::bigint[]) and {IN_SCOPE}
        order by r.id""",
        scope.area_filter,
        submission_ids,
    )
    return many(rows, DecisionRow)


class StageStepRow(msgspec.Struct, frozen=True):
    id: int
    instance_id: str
    from_stage: str
    to_stage: str
    actor_id: int | None
    batch_id: Any
    meeting_date: date | None
    agreement_percent: float | None
    attendees: int | None
    posted_from: date | None
    posted_until: date | None
    complaints: int | None
    decision_number: str | None
    decision_date: date | None
    final_classification: str | None
    note: str | None
    created_at: datetime


async def household_stages(conn: Connection, scope: Scope, submission_ids: list[int]) -> list[StageStepRow]:
    """Every review-stage step of these households (service/stages/), oldest first."""
    rows = await conn.fetch(
        f"""select st.id, s.instance_id, st.from_stage, st.to_stage,
               coalesce(st.actor_user_id, st.actor_app_user_id) as actor_id, st.batch_id, st.meeting_date,
               st.agreement_percent::float8 as agreement_percent, st.attendees, st.posted_from, st.posted_until,
               st.complaints, st.decision_number, st.decision_date, st.final_classification, st.note, st.created_at
        from submission_stages st join submissions s on s.id = st.submission_id
        where st.submission_id = any($2::bigint[]) and {IN_SCOPE}
        order by st.id""",
        scope.area_filter,
        submission_ids,
    )
    return many(rows, StageStepRow)


class EvidenceFlagRow(msgspec.Struct, frozen=True):
    instance_id: str
    code: str
    severity: str
    attachment_name: str | None
    reason_vi: str
    reason_en: str
    facts: dict[str, Any]
    other_instance_id: str | None


async def household_evidence(conn: Connection, scope: Scope, submission_ids: list[int]) -> list[EvidenceFlagRow]:
    """The evidence checks of these households' last checked version (service/evidence/). A household they share a
    photo with is named only when it is in the reader's scope too."""
    rows = await conn.fetch(
        f"""select s.instance_id, c.code, c.severity, c.attachment_name, c.reason_vi, c.reason_en, c.facts,
               o.instance_id as other_instance_id
        from submissions s
        join evidence_checks c on c.submission_id = s.id and c.version_id = s.evidence_version_id
        left join submissions o on o.id = c.other_submission_id
            and ($1::text[] is null or o.area_codes && $1::text[])
        where s.id = any($2::bigint[]) and {IN_SCOPE}
        order by s.id, c.id""",
        scope.area_filter,
        submission_ids,
    )
    return many(rows, EvidenceFlagRow)
