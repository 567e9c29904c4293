"""`survey sync`: keep a central PostgreSQL in step with this server's households, through the change feed.

    first run      creates the target schema (target.py), notes the feed's horizon, then copies every household
                   oldest first in batches; each batch is committed in the target with where it stopped
    interrupted    the next run continues after the last committed batch (the first load), or after the last
                   committed change (later runs): nothing is lost, and a batch written twice changes nothing
    later runs     read the changes after the saved cursor, copy the households they touch as they are now (an edit,
                   a review decision, new photos, new area codes); a copy only replaces an older one
    --follow       keeps going, waiting `interval` seconds whenever it has caught up

It reads the source as the system (every area), and writes under one target schema that several sources may share
(sync_state is keyed by the source's public URL).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import asyncpg
import msgspec

from service.auth.access import Scope, access_to
from service.auth.models import SYSTEM
from service.db.pool import init_connection
from service.exports import queries as export_queries
from service.forms.access import authorized_form, select_version
from service.forms.collect import schema_for_version
from service.submissions import queries as submission_queries
from service.submissions.queries import HouseholdFilter

from .target import (
    EvidenceFlagCopy,
    HouseholdCopy,
    MemberCopy,
    PhotoCopy,
    ReviewCopy,
    StageCopy,
    SyncState,
    TargetSchema,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from service.db.pool import Connection
    from service.resources import Resources
    from service.submissions.queries import ExportRow

__all__ = ["FormSync", "SyncReport", "sync"]

log = logging.getLogger(__name__)


class SyncReport(msgspec.Struct, kw_only=True):
    xml_form_id: str
    households_written: int = 0
    changes_read: int = 0
    first_load_done: bool = False


class FormSync:
    """One form of one project, from this server into one target schema."""

    def __init__(
        self,
        res: Resources,
        target: Connection,
        schema: TargetSchema,
        *,
        project_id: int,
        xml_form_id: str,
        batch: int,
        progress: Callable[[str, int, int | None], None],
    ) -> None:
        self.res, self.target, self.schema = res, target, schema
        self.project_id, self.xml_form_id, self.batch = project_id, xml_form_id, batch
        self.source = res.settings.origin
        self.scope = Scope.whole(project_id)
        self.progress = progress
        self.report = SyncReport(xml_form_id=xml_form_id)
        self.repeats: list[str] = []
        self.form_id = 0

    async def run(self) -> SyncReport:
        access = await access_to(self.res, SYSTEM, self.project_id)
        async with self.res.pool.acquire() as conn:
            form = await authorized_form(conn, access, self.xml_form_id, "export.read")
            version = await select_version(conn, form, "published")
            schema, _ = await schema_for_version(conn, version.id, version.xml_md5)
        self.form_id, self.repeats = form.id, sorted(schema.repeats, key=len)
        state = await self.schema.state(self.target, self.source, self.project_id, self.xml_form_id)
        if state is None or not state.first_load_done:
            state = await self._first_load(state)
        await self._follow_changes(state)
        self.report.first_load_done = True
        return self.report

    async def _first_load(self, state: SyncState | None) -> SyncState:
        if state is None:
            async with self.res.pool.acquire() as conn:
                horizon = await export_queries.feed_horizon(conn, self.form_id)
            state = SyncState(
                cursor_txid=None,
                cursor_id=None,
                first_load_horizon_txid=horizon[0] if horizon else "0",
                first_load_horizon_id=horizon[1] if horizon else 0,
                first_load_after_created_at=None,
                first_load_after_id=None,
                first_load_done=False,
            )
            async with self.target.transaction():
                await self.schema.save_state(self.target, self.source, self.project_id, self.xml_form_id, state)
        async with self.res.pool.acquire() as conn:
            total = await submission_queries.count_households(conn, self.scope, self.form_id, HouseholdFilter())
        done = 0
        while True:
            after = (
                (state.first_load_after_created_at, state.first_load_after_id)
                if state.first_load_after_created_at is not None and state.first_load_after_id is not None
                else None
            )
            rows = await self._households(HouseholdFilter(), after=after)
            if not rows:
                break
            state = msgspec.structs.replace(
                state, first_load_after_created_at=rows[-1].created_at, first_load_after_id=rows[-1].id
            )
            await self._write(rows, state)
            done += len(rows)
            self.progress(f"{self.xml_form_id}: first copy", done, total)
        state = msgspec.structs.replace(
            state,
            cursor_txid=state.first_load_horizon_txid,
            cursor_id=state.first_load_horizon_id,
            first_load_done=True,
        )
        async with self.target.transaction():
            await self.schema.save_state(self.target, self.source, self.project_id, self.xml_form_id, state)
        return state

    async def _follow_changes(self, state: SyncState) -> None:
        while True:
            cursor = (state.cursor_txid, state.cursor_id or 0) if state.cursor_txid is not None else None
            async with self.res.pool.acquire() as conn:
                changes = await export_queries.changes_after(conn, self.scope, self.form_id, cursor, self.batch)
            if not changes:
                return
            instance_ids = sorted({change.instance_id for change in changes})
            rows = await self._households(HouseholdFilter(instance_ids=instance_ids), after=None)
            state = msgspec.structs.replace(state, cursor_txid=changes[-1].txid, cursor_id=changes[-1].id)
            await self._write(rows, state)
            self.report.changes_read += len(changes)
            self.progress(f"{self.xml_form_id}: changes", self.report.changes_read, None)

    async def _households(self, households: HouseholdFilter, *, after: tuple[datetime, int] | None) -> list[ExportRow]:
        async with self.res.pool.acquire() as conn, conn.transaction(readonly=True):
            return [
                row
                async for row in submission_queries.iterate_households(
                    conn, self.scope, self.form_id, households, newest_first=False, after=after, limit=self.batch
                )
            ]

    async def _write(self, rows: list[ExportRow], state: SyncState) -> None:
        ids = [row.id for row in rows]
        async with self.res.pool.acquire() as conn:
            files = await export_queries.household_files(conn, self.scope, ids)
            decisions = await export_queries.household_decisions(conn, self.scope, ids)
            steps = await export_queries.household_stages(conn, self.scope, ids)
            checks = await export_queries.household_evidence(conn, self.scope, ids)
        households = [self._household(row) for row in rows]
        members = [member for row in rows for member in self._members(row)]
        photos = [self._photo(file) for file in files]
        reviews = [self._review(decision) for decision in decisions]
        stages = [self._stage(step) for step in steps]
        flags = self._flags(checks)
        async with self.target.transaction():
            written = await self.schema.write(self.target, households, members, photos, reviews, stages, flags)
            await self.schema.save_state(self.target, self.source, self.project_id, self.xml_form_id, state)
        self.report.households_written += written

    def _household(self, row: ExportRow) -> HouseholdCopy:
        return HouseholdCopy(
            project_id=self.project_id,
            xml_form_id=self.xml_form_id,
            instance_id=row.instance_id,
            current_instance_id=row.current_instance_id,
            instance_name=row.instance_name,
            form_version=row.form_version,
            submitter_id=row.submitter_id,
            submitter_name=row.submitter_name,
            device_id=row.device_id,
            review_state=row.review_state,
            reviewed_at=row.reviewed_at,
            district_code=row.district_code,
            commune_code=row.commune_code,
            village_code=row.village_code,
            latitude=row.latitude,
            longitude=row.longitude,
            altitude=row.altitude,
            accuracy=row.accuracy,
            attachments_present=row.attachments_present,
            attachments_expected=row.attachments_expected,
            edits=row.edits,
            encrypted=row.encrypted,
            created_at=row.created_at,
            source_updated_at=row.source_updated_at,
            answers=row.answers,
            stage=row.stage,
            final_classification=row.final_classification,
            risk_score=row.risk_score,
            evidence_info=row.evidence_info,
            evidence_warn=row.evidence_warn,
            evidence_risk=row.evidence_risk,
            classification=row.classification,
            provisional_classification=row.provisional_classification,
            classification_mismatch=row.classification_mismatch,
            classification_detail=row.classification_detail,
        )

    def _members(self, row: ExportRow) -> list[MemberCopy]:
        """Every repeat instance, nested ones too, keyed as Central's CSV keys them (uuid:…/members[1])."""
        found: list[MemberCopy] = []
        for repeat in self.repeats:
            keys = _keys(repeat)
            contexts: list[tuple[Any, str]] = [(row.answers or {}, row.instance_id)]
            consumed: list[str] = []
            for outer in (r for r in self.repeats if repeat.startswith(f"{r}/")):
                outer_keys = _keys(outer)
                step = outer_keys[len(consumed) :]
                contexts = [
                    (item, f"{key}/{'/'.join(step)}[{index}]")
                    for node, key in contexts
                    for index, item in enumerate(_list_at(node, step), start=1)
                ]
                consumed = outer_keys
            step = keys[len(consumed) :]
            for node, parent_key in contexts:
                for position, item in enumerate(_list_at(node, step), start=1):
                    data = (
                        {k: v for k, v in item.items() if not isinstance(v, list)} if isinstance(item, dict) else item
                    )
                    found.append(
                        MemberCopy(
                            project_id=self.project_id,
                            xml_form_id=self.xml_form_id,
                            instance_id=row.instance_id,
                            repeat_path=repeat,
                            key=f"{parent_key}/{'/'.join(step)}[{position}]",
                            parent_key=parent_key,
                            position=position,
                            data=data,
                        )
                    )
        return found

    def _photo(self, file: export_queries.FileRow) -> PhotoCopy:
        from urllib.parse import quote

        url = (
            f"{self.source}/v1/projects/{self.project_id}/forms/{quote(self.xml_form_id, safe='')}/submissions/"
            f"{quote(file.instance_id, safe=':')}/attachments/{quote(file.name, safe='')}"
        )
        return PhotoCopy(
            project_id=self.project_id,
            xml_form_id=self.xml_form_id,
            instance_id=file.instance_id,
            name=file.name,
            field_path=file.field_path,
            sha256=file.sha256,
            size=file.size,
            content_type=file.content_type,
            url=url,
        )

    def _flags(self, checks: list[export_queries.EvidenceFlagRow]) -> list[EvidenceFlagCopy]:
        positions: dict[str, int] = {}
        flags = []
        for check in checks:
            positions[check.instance_id] = positions.get(check.instance_id, 0) + 1
            flags.append(
                EvidenceFlagCopy(
                    project_id=self.project_id,
                    xml_form_id=self.xml_form_id,
                    instance_id=check.instance_id,
                    position=positions[check.instance_id],
                    code=check.code,
                    severity=check.severity,
                    attachment_name=check.attachment_name,
                    reason_vi=check.reason_vi,
                    reason_en=check.reason_en,
                    facts=check.facts,
                    other_instance_id=check.other_instance_id,
                )
            )
        return flags

    def _stage(self, step: export_queries.StageStepRow) -> StageCopy:
        return StageCopy(
            source_id=step.id,
            project_id=self.project_id,
            xml_form_id=self.xml_form_id,
            instance_id=step.instance_id,
            from_stage=step.from_stage,
            to_stage=step.to_stage,
            actor_id=step.actor_id,
            batch_id=step.batch_id,
            meeting_date=step.meeting_date,
            agreement_percent=step.agreement_percent,
            attendees=step.attendees,
            posted_from=step.posted_from,
            posted_until=step.posted_until,
            complaints=step.complaints,
            decision_number=step.decision_number,
            decision_date=step.decision_date,
            final_classification=step.final_classification,
            note=step.note,
            stepped_at=step.created_at,
        )

    def _review(self, decision: export_queries.DecisionRow) -> ReviewCopy:
        return ReviewCopy(
            source_id=decision.id,
            project_id=self.project_id,
            xml_form_id=self.xml_form_id,
            instance_id=decision.instance_id,
            from_state=decision.from_state,
            to_state=decision.to_state,
            reason_code=decision.reason_code,
            note=decision.note,
            actor_id=decision.actor_id,
            batch_id=decision.batch_id,
            decided_at=decision.created_at,
            undone_at=decision.undone_at,
        )


def _keys(path: str) -> list[str]:
    return path.strip("/").split("/")[1:]


def _list_at(node: Any, keys: list[str]) -> list[Any]:
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, list) else []


async def sync(
    res: Resources,
    target_url: str,
    *,
    project_id: int,
    xml_form_ids: list[str] | None,
    schema: str = "survey_sync",
    batch: int = 1000,
    follow: bool = False,
    interval_s: float = 30.0,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> list[SyncReport]:
    target_schema = TargetSchema(schema)
    report_progress = progress or (lambda _what, _done, _total: None)
    target = await asyncpg.connect(target_url)
    try:
        await init_connection(target)
        await target_schema.migrate(target)
        while True:
            forms = xml_form_ids or await _published_forms(res, project_id)
            reports = []
            for xml_form_id in forms:
                runner = FormSync(
                    res,
                    target,
                    target_schema,
                    project_id=project_id,
                    xml_form_id=xml_form_id,
                    batch=batch,
                    progress=report_progress,
                )
                reports.append(await runner.run())
            if not follow:
                return reports
            await asyncio.sleep(interval_s)
    finally:
        await target.close()


async def _published_forms(res: Resources, project_id: int) -> list[str]:
    from service.forms import service as forms

    access = await access_to(res, SYSTEM, project_id)
    return [form.xml_form_id for form in await forms.list_forms(res, access) if form.published_at is not None]
