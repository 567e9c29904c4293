"""Areas: load the province's districts, communes and villages (from a form's choice lists or a CSV), say which
answers of a form hold a household's area, and keep every household's area codes up to date.

Areas are national (GSO codes), so loading them is for administrators; which fields hold the area is a form's
setting, for those who may update the form.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

import msgspec

from service.audits import record_audit
from service.auth.access import require_admin
from service.errors import Problem
from service.forms import reading as form_reading
from service.forms.access import authorized_form, select_version
from service.forms.choices import choice_source, csv_choices, instance_choices
from service.forms.collect import schema_for_version

from . import queries
from .fields import answer_path, area_fields_for
from .models import AREA_LEVELS, AreaFields, AreaOut, LoadedAreas, NewArea

if TYPE_CHECKING:
    from service.auth.access import Access, Scope
    from service.auth.models import Actor
    from service.db.pool import Connection
    from service.forms.choices import Choice
    from service.forms.models import FormRow
    from service.forms.schema import FormField, FormSchema
    from service.resources import Resources

__all__ = ["area_fields", "import_areas_csv", "list_areas", "load_areas_from_form", "set_area_fields"]


async def list_areas(res: Resources, actor: Actor, *, level: str | None, parent_code: str | None) -> list[AreaOut]:
    if actor.kind != "user":
        require_admin(actor)  # 401 for anonymous; app users have no business here
    async with res.pool.acquire() as conn:
        return [AreaOut.from_row(row) for row in await queries.list_areas(conn, level=level, parent_code=parent_code)]


def _province(res: Resources) -> NewArea:
    settings = res.settings
    return NewArea(
        code=settings.province_code,
        level="province",
        parent_code=None,
        name=settings.province_name,
        name_en=settings.province_name_en or None,
    )


async def area_fields(res: Resources, access: Access, xml_form_id: str) -> AreaFields:
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "form.read")
        return await _fields_of(conn, form)


async def _fields_of(conn: Connection, form: FormRow) -> AreaFields:
    if form.current_version_id is None and form.draft_version_id is None:
        return AreaFields() if form.area_fields is None else msgspec.convert(form.area_fields, AreaFields)
    schema, _ = await _schema(conn, form)
    return area_fields_for(form.area_fields, schema)


async def _schema(conn: Connection, form: FormRow) -> tuple[FormSchema, dict[str, FormField]]:
    version = await select_version(conn, form, "published" if form.current_version_id else "draft")
    return await schema_for_version(conn, version.id, version.xml_md5)


async def set_area_fields(res: Resources, access: Access, xml_form_id: str, fields: AreaFields) -> LoadedAreas:
    """Say which answers hold the area; every household of the form is re-read at once."""
    async with res.pool.acquire() as conn, conn.transaction():
        form = await authorized_form(conn, access, xml_form_id, "form.update")
        if form.current_version_id is not None or form.draft_version_id is not None:
            _, by_path = await _schema(conn, form)
            for path in (fields.district, fields.commune, fields.village):
                if path is not None and path not in by_path:
                    raise Problem.unexpected_value("areaFields", f"the form has no field {path}")
        await queries.set_area_fields(conn, form.id, msgspec.to_builtins(fields))
        updated = await _refresh(conn, form.id, fields)
        await record_audit(
            conn,
            "form.update.area_fields",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            form_id=form.id,
            details=msgspec.to_builtins(fields),
        )
    return LoadedAreas(districts=0, communes=0, villages=0, households_updated=updated)


async def _refresh(conn: Connection, form_id: int, fields: AreaFields) -> int:
    def keys(path: str | None) -> list[str] | None:
        return answer_path(path) if path else None

    return await queries.refresh_household_areas(
        conn, form_id, keys(fields.district), keys(fields.commune), keys(fields.village)
    )


async def load_areas_from_form(res: Resources, access: Access, xml_form_id: str) -> LoadedAreas:
    """The areas a published form lists (its district, commune and village choices), under the province of the
    settings; then every household of the form is re-read against them."""
    require_admin(access.actor)
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "form.read")
        fields = await _fields_of(conn, form)
    text, _ = await form_reading.read_form_xml(res, access, xml_form_id)
    xml = text.encode("utf-8")
    lists: dict[str, list[Choice]] = {}
    for level in ("district", "commune", "village"):
        path = getattr(fields, level)
        source = choice_source(xml, path) if path else None
        if source is None:
            continue
        if source.csv_file is None:
            lists[level] = instance_choices(xml, source.instance_id)
            continue
        try:
            _, _, _, stream = await form_reading.read_attachment(res, access, xml_form_id, source.csv_file)
        except Problem as missing:
            if missing.status != 404:
                raise
            continue  # the CSV was never uploaded: no villages
        lists[level] = csv_choices(b"".join([chunk async for chunk in stream]))
    areas = _areas_from_lists(res, fields, lists)
    async with res.pool.acquire() as conn, conn.transaction():
        await queries.upsert_areas(conn, areas)
        updated = await _refresh(conn, form.id, fields)
        await record_audit(
            conn,
            "areas.load",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            form_id=form.id,
            details={level: len(items) for level, items in lists.items()},
        )
    counts = {level: sum(1 for a in areas if a.level == level) for level in AREA_LEVELS}
    return LoadedAreas(
        districts=counts["district"],
        communes=counts["commune"],
        villages=counts["village"],
        households_updated=updated,
    )


def _areas_from_lists(res: Resources, fields: AreaFields, lists: dict[str, list[Choice]]) -> list[NewArea]:
    """Province first, then districts, communes, villages: each child names its parent in the column the form's
    choice filter uses, which is the parent field's own name (a commune's `district`, a village's `commune`)."""
    province = _province(res)
    areas = [province]
    known = {province.code}
    parent_of = {"district": None, "commune": fields.district, "village": fields.commune}
    for level in ("district", "commune", "village"):
        parent_field = parent_of[level]
        parent_column = parent_field.rsplit("/", 1)[-1] if parent_field else None
        for choice in lists.get(level, []):
            parent = province.code if level == "district" else choice.columns.get(parent_column or "")
            if parent not in known or choice.name.lower() in {"other", "khac"}:
                continue  # a village of an unknown commune, or "other": not an area
            areas.append(NewArea(choice.name[:40], level, parent, choice.label[:200], choice.label_en))
            known.add(choice.name[:40])
    return areas


_CSV_COLUMNS = ("code", "level", "parent_code", "name")


async def import_areas_csv(res: Resources, actor: Actor, data: bytes) -> LoadedAreas:
    """Areas from a CSV (code, level, parent_code, name[, name_en]), e.g. an export of GSO's list."""
    require_admin(actor)
    try:
        rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise Problem.unparseable("CSV", str(exc)) from None
    if not rows or any(column not in rows[0] for column in _CSV_COLUMNS):
        raise Problem.unexpected_value("CSV", f"the header must have the columns {', '.join(_CSV_COLUMNS)}")
    try:
        areas = [
            msgspec.convert(
                {
                    "code": row["code"].strip(),
                    "level": row["level"].strip(),
                    "parent_code": (row.get("parent_code") or "").strip() or None,
                    "name": row["name"].strip(),
                    "name_en": (row.get("name_en") or "").strip() or None,
                },
                NewArea,
            )
            for row in rows
        ]
    except msgspec.ValidationError as exc:
        raise Problem.unexpected_value("CSV", str(exc)) from None
    ordered = sorted(areas, key=lambda area: AREA_LEVELS.index(area.level))
    async with res.pool.acquire() as conn, conn.transaction():
        # An unknown parent or a level that breaks the tree is refused by the table's constraints (400/409).
        await queries.upsert_areas(conn, ordered)
        await record_audit(conn, "areas.import", actor_user_id=actor.user_id, details={"rows": len(areas)})
    counts = {level: sum(1 for a in areas if a.level == level) for level in AREA_LEVELS}
    return LoadedAreas(
        districts=counts["district"], communes=counts["commune"], villages=counts["village"], households_updated=0
    )


async def lineage(conn: Connection, codes: list[str]) -> dict[str, set[str]]:
    """code → the code itself and every area above it (known areas only). For other capabilities' scope checks:
    a role bound to a district reaches its communes and villages."""
    return await queries.lineage(conn, codes)


async def within_scope(conn: Connection, scope: Scope, area: str) -> bool:
    """The area is one of the scope's areas or lies below one of them (an unknown code reaches nothing)."""
    if scope.areas is None or area in scope.areas:
        return True
    return bool((await lineage(conn, [area])).get(area, set()) & set(scope.areas))
