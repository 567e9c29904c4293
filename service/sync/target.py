"""The target schema the sync writes, created or migrated in the central database, and its upserts.

Tables (in the target's `schema`, default `survey_sync`; one row per household of every synced form):

    households        the household as it is now: identity, area codes, review state, geopoint, counts, every
                      answer (jsonb), source_updated_at (the source's updated_at; a row is only ever replaced by a
                      newer one)
    members           every repeat instance (the example form's household members), jsonb, by repeat path and
                      position
    housing           a view: the example form's housing answers as columns (tenure, class, materials, area,
                      temp_house_flag)
    photos            each file of the current version: name, field, sha256, size, content type, download URL
    review_decisions  every review decision (source id), with its reason and whether it was undone
    stage_steps       every step of the legal review (village meeting, posting, recognition), with its facts
    evidence_flags    the photo-evidence checks of each household's current version (code, severity, reasons,
                      the numbers behind them, the household a photo is shared with)
    sync_state        per source and form: the feed cursor, and where an unfinished first load stopped

A batch is written in one target transaction together with its cursor, so an interrupted sync resumes exactly
where the last committed batch ended, and a batch written twice changes nothing.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from service.db.pool import Connection

__all__ = [
    "HouseholdCopy",
    "MemberCopy",
    "PhotoCopy",
    "EvidenceFlagCopy",
    "ReviewCopy",
    "StageCopy",
    "SyncState",
    "TargetSchema",
]

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Target migrations, in order; the target records how many it has applied. Append, never edit.
_MIGRATIONS = [
    """create table {s}.sync_state (
        source text not null,
        project_id bigint not null,
        xml_form_id text not null,
        cursor_txid text,
        cursor_id bigint,
        first_load_horizon_txid text,
        first_load_horizon_id bigint,
        first_load_after_created_at timestamptz,
        first_load_after_id bigint,
        first_load_done boolean not null default false,
        synced_at timestamptz not null default now(),
        primary key (source, project_id, xml_form_id)
    );
    create table {s}.households (
        project_id bigint not null,
        xml_form_id text not null,
        instance_id text not null,
        current_instance_id text not null,
        instance_name text,
        form_version text not null,
        submitter_id bigint,
        submitter_name text,
        device_id text,
        review_state text,
        reviewed_at timestamptz,
        district_code text,
        commune_code text,
        village_code text,
        latitude double precision,
        longitude double precision,
        altitude double precision,
        accuracy double precision,
        attachments_present integer not null,
        attachments_expected integer not null,
        edits integer not null,
        encrypted boolean not null,
        created_at timestamptz not null,
        source_updated_at timestamptz not null,
        answers jsonb,
        synced_at timestamptz not null default now(),
        primary key (project_id, xml_form_id, instance_id)
    );
    create index households_commune_idx on {s}.households (xml_form_id, commune_code);
    create index households_review_state_idx on {s}.households (xml_form_id, review_state);
    create table {s}.members (
        project_id bigint not null,
        xml_form_id text not null,
        instance_id text not null,
        repeat_path text not null,
        -- Central's keys: uuid:…/members[1], and the parent's (the household's instanceID, or a repeat's key)
        key text not null,
        parent_key text not null,
        position integer not null,
        data jsonb not null,
        primary key (project_id, xml_form_id, instance_id, key)
    );
    create table {s}.photos (
        project_id bigint not null,
        xml_form_id text not null,
        instance_id text not null,
        name text not null,
        field_path text,
        sha256 text,
        size bigint,
        content_type text,
        url text not null,
        primary key (project_id, xml_form_id, instance_id, name)
    );
    create table {s}.review_decisions (
        source_id bigint not null,
        project_id bigint not null,
        xml_form_id text not null,
        instance_id text not null,
        from_state text,
        to_state text,
        reason_code text,
        note text,
        actor_id bigint,
        batch_id uuid,
        decided_at timestamptz not null,
        undone_at timestamptz,
        primary key (project_id, source_id)
    );
    create index review_decisions_household_idx on {s}.review_decisions (xml_form_id, instance_id);
    create view {s}.housing as
        select project_id, xml_form_id, instance_id, district_code, commune_code, village_code, review_state,
               answers #>> '{{g_house,house_tenure}}' as tenure,
               answers #>> '{{g_house,house_class}}' as house_class,
               answers #>> '{{g_house,floor_material}}' as floor_material,
               answers #>> '{{g_house,wall_material}}' as wall_material,
               answers #>> '{{g_house,roof_material}}' as roof_material,
               (answers #>> '{{g_house,house_area}}')::numeric as house_area,
               answers #>> '{{g_house,house_condition}}' as house_condition,
               coalesce(answers #>> '{{g_house,temp_house_flag}}', answers #>> '{{temp_house_flag}}') as temp_house_flag
        from {s}.households;""",
    # 2: the legal stages of the review (service/stages/): where each household is, and every step.
    """alter table {s}.households add column stage text, add column final_classification text;
    create index households_stage_idx on {s}.households (xml_form_id, stage);
    create table {s}.stage_steps (
        source_id bigint not null,
        project_id bigint not null,
        xml_form_id text not null,
        instance_id text not null,
        from_stage text not null,
        to_stage text not null,
        actor_id bigint,
        batch_id uuid,
        meeting_date date,
        agreement_percent numeric(5, 2),
        attendees integer,
        posted_from date,
        posted_until date,
        complaints integer,
        decision_number text,
        decision_date date,
        final_classification text,
        note text,
        stepped_at timestamptz not null,
        primary key (project_id, source_id)
    );
    create index stage_steps_household_idx on {s}.stage_steps (xml_form_id, instance_id);""",
    # 3: photo evidence (service/evidence/): the household's risk score and check counts, and each check.
    """alter table {s}.households add column risk_score integer, add column evidence_info integer,
        add column evidence_warn integer, add column evidence_risk integer;
    create index households_risk_idx on {s}.households (xml_form_id, risk_score);
    create table {s}.evidence_flags (
        project_id bigint not null,
        xml_form_id text not null,
        instance_id text not null,
        position integer not null,
        code text not null,
        severity text not null,
        attachment_name text,
        reason_vi text not null,
        reason_en text not null,
        facts jsonb not null,
        other_instance_id text,
        primary key (project_id, xml_form_id, instance_id, position)
    );
    create index evidence_flags_code_idx on {s}.evidence_flags (xml_form_id, code);""",
    # 4: the server's classification (service/classification/): the class, the phone's, whether they disagree, the
    # whole result; the housing view gains the 2023 and 2025 temporary-house results.
    """alter table {s}.households add column classification text, add column provisional_classification text,
        add column classification_mismatch boolean, add column classification_detail jsonb;
    create index households_classification_idx on {s}.households (xml_form_id, classification);
    create or replace view {s}.housing as
        select project_id, xml_form_id, instance_id, district_code, commune_code, village_code, review_state,
               answers #>> '{{g_house,house_tenure}}' as tenure,
               answers #>> '{{g_house,house_class}}' as house_class,
               answers #>> '{{g_house,floor_material}}' as floor_material,
               answers #>> '{{g_house,wall_material}}' as wall_material,
               answers #>> '{{g_house,roof_material}}' as roof_material,
               (answers #>> '{{g_house,house_area}}')::numeric as house_area,
               answers #>> '{{g_house,house_condition}}' as house_condition,
               coalesce(answers #>> '{{g_house,temp_house_flag}}',
                        answers #>> '{{temp_house_flag}}') as temp_house_flag,
               (classification_detail #>> '{{tempHouse2023,eligible}}')::boolean as temp_house_2023,
               (classification_detail #>> '{{tempHouse2025,eligible}}')::boolean as temp_house_2025,
               classification, final_classification, stage
        from {s}.households;""",
]


class SyncState(msgspec.Struct, frozen=True):
    cursor_txid: str | None
    cursor_id: int | None
    first_load_horizon_txid: str | None
    first_load_horizon_id: int | None
    first_load_after_created_at: datetime | None
    first_load_after_id: int | None
    first_load_done: bool


class HouseholdCopy(msgspec.Struct, frozen=True, array_like=True):
    project_id: int
    xml_form_id: str
    instance_id: str
    current_instance_id: str
    instance_name: str | None
    form_version: str
    submitter_id: int | None
    submitter_name: str | None
    device_id: str | None
    review_state: str | None
    reviewed_at: datetime | None
    district_code: str | None
    commune_code: str | None
    village_code: str | None
    latitude: float | None
    longitude: float | None
    altitude: float | None
    accuracy: float | None
    attachments_present: int
    attachments_expected: int
    edits: int
    encrypted: bool
    created_at: datetime
    source_updated_at: datetime
    answers: Any
    stage: str
    final_classification: str | None
    risk_score: int | None
    evidence_info: int
    evidence_warn: int
    evidence_risk: int
    classification: str | None
    provisional_classification: str | None
    classification_mismatch: bool | None
    classification_detail: Any


class MemberCopy(msgspec.Struct, frozen=True, array_like=True):
    project_id: int
    xml_form_id: str
    instance_id: str
    repeat_path: str
    key: str
    parent_key: str
    position: int
    data: Any


class PhotoCopy(msgspec.Struct, frozen=True, array_like=True):
    project_id: int
    xml_form_id: str
    instance_id: str
    name: str
    field_path: str | None
    sha256: str | None
    size: int | None
    content_type: str | None
    url: str


class EvidenceFlagCopy(msgspec.Struct, frozen=True, array_like=True):
    project_id: int
    xml_form_id: str
    instance_id: str
    position: int
    code: str
    severity: str
    attachment_name: str | None
    reason_vi: str
    reason_en: str
    facts: Any
    other_instance_id: str | None


class StageCopy(msgspec.Struct, frozen=True, array_like=True):
    source_id: int
    project_id: int
    xml_form_id: str
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
    stepped_at: datetime


class ReviewCopy(msgspec.Struct, frozen=True, array_like=True):
    source_id: int
    project_id: int
    xml_form_id: str
    instance_id: str
    from_state: str | None
    to_state: str | None
    reason_code: str | None
    note: str | None
    actor_id: int | None
    batch_id: Any
    decided_at: datetime
    undone_at: datetime | None


_COLUMNS = {
    "households": list(HouseholdCopy.__struct_fields__),
    "members": list(MemberCopy.__struct_fields__),
    "photos": list(PhotoCopy.__struct_fields__),
    "review_decisions": list(ReviewCopy.__struct_fields__),
    "stage_steps": list(StageCopy.__struct_fields__),
    "evidence_flags": list(EvidenceFlagCopy.__struct_fields__),
}


class TargetSchema:
    def __init__(self, schema: str) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"{schema!r} is not a plain lower-case schema name")
        self.s = schema

    async def migrate(self, conn: Connection) -> int:
        """Create or bring the target schema up to date (under an advisory lock); returns its version."""
        async with conn.transaction():
            await conn.execute("select pg_advisory_xact_lock(7305020233)")
            await conn.execute(f"create schema if not exists {self.s}")
            await conn.execute(f"create table if not exists {self.s}.schema_version (version integer not null)")
            version = await conn.fetchval(f"select max(version) from {self.s}.schema_version") or 0
            for number, sql in enumerate(_MIGRATIONS, start=1):
                if number > version:
                    await conn.execute(sql.format(s=self.s))
                    await conn.execute(f"insert into {self.s}.schema_version values ($1)", number)
            return len(_MIGRATIONS)

    async def state(self, conn: Connection, source: str, project_id: int, xml_form_id: str) -> SyncState | None:
        row = await conn.fetchrow(
            f"""select cursor_txid, cursor_id, first_load_horizon_txid, first_load_horizon_id,
                   first_load_after_created_at, first_load_after_id, first_load_done
            from {self.s}.sync_state where source = $1 and project_id = $2 and xml_form_id = $3""",
            source,
            project_id,
            xml_form_id,
        )
        return None if row is None else msgspec.convert(row, SyncState)

    async def save_state(
        self, conn: Connection, source: str, project_id: int, xml_form_id: str, state: SyncState
    ) -> None:
        await conn.execute(
            f"""insert into {self.s}.sync_state (source, project_id, xml_form_id, cursor_txid, cursor_id,
                first_load_horizon_txid, first_load_horizon_id, first_load_after_created_at, first_load_after_id,
                first_load_done, synced_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
            on conflict (source, project_id, xml_form_id) do update set
                cursor_txid = excluded.cursor_txid, cursor_id = excluded.cursor_id,
                first_load_horizon_txid = excluded.first_load_horizon_txid,
                first_load_horizon_id = excluded.first_load_horizon_id,
                first_load_after_created_at = excluded.first_load_after_created_at,
                first_load_after_id = excluded.first_load_after_id,
                first_load_done = excluded.first_load_done, synced_at = now()""",
            source,
            project_id,
            xml_form_id,
            state.cursor_txid,
            state.cursor_id,
            state.first_load_horizon_txid,
            state.first_load_horizon_id,
            state.first_load_after_created_at,
            state.first_load_after_id,
            state.first_load_done,
        )

    async def write(
        self,
        conn: Connection,
        households: list[HouseholdCopy],
        members: list[MemberCopy],
        photos: list[PhotoCopy],
        reviews: list[ReviewCopy],
        stages: list[StageCopy],
        flags: list[EvidenceFlagCopy],
    ) -> int:
        """Upsert a batch (inside the caller's transaction). A household is replaced only by a newer copy; its
        members and photos are replaced with it. Returns how many households were written."""
        if not households:
            return 0
        s = self.s
        for table, records in (
            ("households", households),
            ("members", members),
            ("photos", photos),
            ("review_decisions", reviews),
            ("stage_steps", stages),
            ("evidence_flags", flags),
        ):
            await conn.execute(
                f"create temp table if not exists incoming_{table} (like {s}.{table} including defaults) "
                "on commit delete rows"
            )
            if records:
                await conn.copy_records_to_table(
                    f"incoming_{table}",
                    records=[msgspec.structs.astuple(record) for record in records],
                    columns=_COLUMNS[table],
                )
        columns = ", ".join(_COLUMNS["households"])
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS["households"][3:])
        written: int = await conn.fetchval(
            f"""with written as (
                insert into {s}.households ({columns}) select {columns} from incoming_households
                on conflict (project_id, xml_form_id, instance_id) do update set {updates}, synced_at = now()
                where excluded.source_updated_at > {s}.households.source_updated_at
                returning project_id, xml_form_id, instance_id
            ), gone_members as (
                delete from {s}.members m using written w
                where (m.project_id, m.xml_form_id, m.instance_id) = (w.project_id, w.xml_form_id, w.instance_id)
            ), gone_photos as (
                delete from {s}.photos p using written w
                where (p.project_id, p.xml_form_id, p.instance_id) = (w.project_id, w.xml_form_id, w.instance_id)
            ), gone_flags as (
                delete from {s}.evidence_flags f using written w
                where (f.project_id, f.xml_form_id, f.instance_id) = (w.project_id, w.xml_form_id, w.instance_id)
            )
            select count(*) from written""",
        )
        # Members and photos of the households written now (deleted above in the same statement's snapshot).
        await conn.execute(
            f"""insert into {s}.members select i.* from incoming_members i
            join {s}.households h using (project_id, xml_form_id, instance_id)
            where h.synced_at = now()
            on conflict (project_id, xml_form_id, instance_id, key) do update set data = excluded.data"""
        )
        await conn.execute(
            f"""insert into {s}.photos select i.* from incoming_photos i
            join {s}.households h using (project_id, xml_form_id, instance_id)
            where h.synced_at = now()
            on conflict (project_id, xml_form_id, instance_id, name) do update set
                field_path = excluded.field_path, sha256 = excluded.sha256, size = excluded.size,
                content_type = excluded.content_type, url = excluded.url"""
        )
        flag_columns = ", ".join(_COLUMNS["evidence_flags"])
        incoming_flags = ", ".join(f"i.{column}" for column in _COLUMNS["evidence_flags"])
        await conn.execute(
            f"""insert into {s}.evidence_flags ({flag_columns}) select {incoming_flags}
            from incoming_evidence_flags i
            join {s}.households h using (project_id, xml_form_id, instance_id)
            where h.synced_at = now()
            on conflict do nothing"""
        )
        review_columns = ", ".join(_COLUMNS["review_decisions"])
        await conn.execute(
            f"""insert into {s}.review_decisions ({review_columns})
            select {review_columns} from incoming_review_decisions
            on conflict (project_id, source_id) do update set undone_at = excluded.undone_at"""
        )
        stage_columns = ", ".join(_COLUMNS["stage_steps"])
        await conn.execute(
            f"""insert into {s}.stage_steps ({stage_columns}) select {stage_columns} from incoming_stage_steps
            on conflict (project_id, source_id) do nothing"""
        )
        return written
