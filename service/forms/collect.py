"""What ODK Collect needs from the forms capability: its form list, manifests, and submission targets.

App users see only published, open forms assigned to them (as in Central); web users see every published,
open form of a project where they may list forms.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import msgspec

from service.areas.fields import area_fields_for
from service.areas.models import AreaFields
from service.errors import Problem

from . import queries
from .choices import choice_source, instance_choices
from .models import CollectForm
from .schema import FormField, FormSchema

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.db.pool import Connection
    from service.resources import Resources

__all__ = [
    "CollectForm",
    "SubmissionTarget",
    "choice_column",
    "forms_for_collect",
    "schema_for_version",
    "submission_target",
]


class SubmissionTarget(msgspec.Struct, frozen=True):
    form_id: int
    form_version_id: int
    xml_md5: str
    encrypted: bool
    schema: FormSchema
    fields: dict[str, FormField]
    # The answers that hold the household's district, commune and village.
    area_fields: AreaFields


async def forms_for_collect(res: Resources, access: Access, xml_form_id: str | None = None) -> list[CollectForm]:
    """The form list Collect downloads, optionally only one form (its `formID` filter)."""
    access.require("form.list")
    actor = access.actor
    app_user_id = actor.id if actor.kind == "app_user" else None
    async with res.pool.acquire() as conn:
        listed = await queries.list_forms_for_collect(conn, access.project_id, app_user_id)
    return [form for form in listed if xml_form_id is None or form.xml_form_id == xml_form_id]


# A published version never changes, and its schema is a function of its XForm, so a cache keyed by the version
# and its XForm's md5 cannot make two processes disagree (nor mix up two databases that reuse version ids, as the
# tests' do); it saves decoding the JSON on every submission.
_SCHEMA_CACHE: dict[tuple[int, str], tuple[FormSchema, dict[str, FormField]]] = {}
_SCHEMA_CACHE_SIZE = 256


async def schema_for_version(
    conn: Connection, version_id: int, xml_md5: str
) -> tuple[FormSchema, dict[str, FormField]]:
    cached = _SCHEMA_CACHE.get((version_id, xml_md5))
    if cached is not None:
        return cached
    schema = msgspec.convert(await queries.version_schema(conn, version_id), FormSchema)
    entry = (schema, {field.path: field for field in schema.fields})
    if len(_SCHEMA_CACHE) >= _SCHEMA_CACHE_SIZE:
        _SCHEMA_CACHE.clear()
    _SCHEMA_CACHE[(version_id, xml_md5)] = entry
    return entry


async def submission_target(conn: Connection, access: Access, xml_form_id: str, version: str) -> SubmissionTarget:
    """Where a submission goes: 404 unknown form or version, 409 closed form, 401/403 not allowed."""
    access.require("submission.create")
    row = await queries.submission_target(conn, access.project_id, xml_form_id, version)
    if row is None:
        raise Problem.not_found("form")
    actor = access.actor
    if (
        actor.kind == "app_user"
        and actor.id is not None
        and not await queries.app_user_assigned(conn, row.form_id, actor.id)
    ):
        raise Problem.insufficient_rights()
    if row.version_id is None:
        raise Problem.form_version_not_found(version)
    if row.state == "closed":
        raise Problem.not_accepting_submissions()
    schema, fields = await schema_for_version(conn, row.version_id, row.xml_md5 or "")
    return SubmissionTarget(
        form_id=row.form_id,
        form_version_id=row.version_id,
        xml_md5=row.xml_md5 or "",
        encrypted=row.base64_public_key is not None,
        schema=schema,
        fields=fields,
        area_fields=area_fields_for(row.area_fields, schema),
    )


# Like the schema, a published version's choice lists never change: cache what ingest asks of them.
_COLUMN_CACHE: dict[tuple[int, str, str, str], dict[str, str]] = {}


async def choice_column(conn: Connection, target: SubmissionTarget, field_path: str, column: str) -> dict[str, str]:
    """An extra column of the choices behind a select of the target's version, by choice name (e.g. the commune
    list's `area`: {"19750": "urban", …}). Empty when the field is not a select from the form's own lists or its
    choices lack the column."""
    key = (target.form_version_id, target.xml_md5, field_path, column)
    cached = _COLUMN_CACHE.get(key)
    if cached is not None:
        return cached
    xml = (await queries.get_version_xml(conn, target.form_version_id)).encode("utf-8")
    # Parsing a whole XForm takes milliseconds: off the event loop, once per version and process.
    found = await asyncio.to_thread(_choice_column, xml, field_path, column)
    if len(_COLUMN_CACHE) >= _SCHEMA_CACHE_SIZE:
        _COLUMN_CACHE.clear()
    _COLUMN_CACHE[key] = found
    return found


def _choice_column(xml: bytes, field_path: str, column: str) -> dict[str, str]:
    source = choice_source(xml, field_path)
    if source is None or source.csv_file is not None:
        return {}
    return {c.name: c.columns[column] for c in instance_choices(xml, source.instance_id) if c.columns.get(column)}
