"""Form operations: upload (XLSForm or XForm), drafts, publishing, state and deletion.

Life of a form, as in ODK Central: an upload creates the form with a draft version; publishing stamps the draft
and makes it the version Collect downloads; a later upload makes a new draft of the same form id. Published
versions are kept, so phones still holding an older one can submit against it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from service.audits import record_audit
from service.errors import Problem
from service.media.blobs import (
    StoredContent,
    claim_new_blobs,
    ensure_blob,
    md5_hex,
    removed_if_refused,
    store_bytes,
)

from . import queries
from .models import FormOut
from .schema import FormSchema
from .xml_edit import set_instance_version

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.db.pool import Connection
    from service.resources import Resources

    from .convert import FormProblem
    from .models import FormRow, FormState, VersionRow

from .access import authorized_form, lock_form
from .definition import SOURCE_CONTENT_TYPES, Definition, prepare_definition, problem_dicts

__all__ = [
    "create_draft",
    "create_form",
    "delete_draft",
    "delete_form",
    "get_draft",
    "get_form",
    "list_forms",
    "publish_draft",
    "set_form_state",
]


async def _store_version(
    conn: Connection,
    form: FormRow,
    definition: Definition,
    *,
    source_blob_id: int | None,
    itemsets_blob_id: int | None,
    created_by: int | None,
) -> VersionRow:
    version = await queries.insert_version(
        conn,
        form_id=form.id,
        version=definition.schema.version,
        title=definition.schema.title or form.xml_form_id,
        xml=definition.xml,
        xml_md5=definition.xml_md5,
        source_blob_id=source_blob_id,
        source_type=definition.source_type,
        schema=definition.schema,
        base64_public_key=definition.schema.base64_public_key,
        warnings=definition.warnings,
        created_by=created_by,
    )
    await queries.insert_attachments(conn, version.id, [(m.name, m.kind) for m in definition.schema.media])
    if itemsets_blob_id is not None:
        await queries.set_attachment_blob(conn, version.id, "itemsets.csv", itemsets_blob_id)
    return version


class _Sources(msgspec.Struct, frozen=True):
    """The uploaded definition and its generated itemsets.csv, in the store but not yet in a row."""

    source: StoredContent | None
    itemsets: StoredContent | None

    @property
    def added(self) -> list[tuple[bytes, str]]:
        return [(bytes.fromhex(c.sha256), c.storage_key) for c in (self.source, self.itemsets) if c is not None]


async def _put_sources(res: Resources, data: bytes | None, definition: Definition) -> _Sources:
    source = await store_bytes(res.store, data) if data is not None else None
    itemsets = None
    if definition.itemsets_csv is not None:
        itemsets = await store_bytes(res.store, definition.itemsets_csv.encode("utf-8"))
    return _Sources(source=source, itemsets=itemsets)


async def _source_rows(conn: Connection, sources: _Sources, definition: Definition) -> tuple[int | None, int | None]:
    source_blob_id = itemsets_blob_id = None
    if sources.source is not None:
        content_type = SOURCE_CONTENT_TYPES[definition.source_type]
        source_blob_id = await ensure_blob(conn, sources.source, content_type=content_type)
    if sources.itemsets is not None:
        itemsets_blob_id = await ensure_blob(conn, sources.itemsets, content_type="text/csv")
    return source_blob_id, itemsets_blob_id


async def create_form(
    res: Resources,
    access: Access,
    data: bytes,
    *,
    content_type: str | None,
    fallback_form_id: str | None,
    publish: bool,
    ignore_warnings: bool,
) -> FormOut:
    access.require("form.create")
    definition = await prepare_definition(
        res.converter, data, content_type=content_type, fallback_form_id=fallback_form_id
    )
    if definition.warnings and not ignore_warnings:
        raise Problem.form_warnings(problem_dicts(definition.warnings))
    xml_form_id = definition.schema.xml_form_id
    async with res.pool.acquire() as conn:
        if await queries.get_form(conn, access.project_id, xml_form_id) is not None:
            # Refused before the workbook is stored; a concurrent upload that wins the race is the same 409.3,
            # from the unique index (db/errors.py), and its workbook is removed again below.
            raise Problem.already_exists("projectId, xmlFormId", f"{access.project_id}, {xml_form_id}")
    sources = await _put_sources(res, data, definition)
    async with removed_if_refused(res.pool, res.store, sources.added), res.pool.acquire() as conn, conn.transaction():
        await claim_new_blobs(conn, res.store, sources.added)
        source_blob_id, itemsets_blob_id = await _source_rows(conn, sources, definition)
        form = await queries.insert_form(
            conn,
            project_id=access.project_id,
            xml_form_id=xml_form_id,
            created_by=access.actor.user_id,
        )
        version = await _store_version(
            conn,
            form,
            definition,
            source_blob_id=source_blob_id,
            itemsets_blob_id=itemsets_blob_id,
            created_by=access.actor.user_id,
        )
        await queries.set_draft(conn, form.id, version.id)
        if publish:
            await _publish(conn, form, version)
        await record_audit(
            conn,
            "form.create",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            form_id=form.id,
            details={"version": version.version, "published": publish},
        )
        return await _form_out(conn, form.id, warnings=definition.warnings)


async def _publish(conn: Connection, form: FormRow, version: VersionRow) -> None:
    # A version string already published for this form is 409.6 (db/errors.py names the constraint).
    await queries.publish_version(conn, form.id, version.id)


async def _form_out(conn: Connection, form_id: int, *, warnings: list[FormProblem] | None = None) -> FormOut:
    """The form as Central shows it: its published version, or its draft while it was never published."""
    form = await lock_form(conn, form_id, lock=False)
    version_id = form.current_version_id or form.draft_version_id
    assert version_id is not None
    return FormOut.of(form, await queries.get_version(conn, version_id), warnings=warnings)


async def list_forms(res: Resources, access: Access) -> list[FormOut]:
    access.require("form.list")
    async with res.pool.acquire() as conn:
        return [FormOut.of(form, version) for form, version in await queries.list_forms(conn, access.project_id)]


async def get_form(res: Resources, access: Access, xml_form_id: str) -> FormOut:
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "form.read")
        return await _form_out(conn, form.id)


async def get_draft(res: Resources, access: Access, xml_form_id: str) -> FormOut:
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "form.read")
        if form.draft_version_id is None:
            raise Problem.not_found("draft")
        return FormOut.of(form, await queries.get_version(conn, form.draft_version_id))


async def create_draft(
    res: Resources,
    access: Access,
    xml_form_id: str,
    data: bytes,
    *,
    content_type: str | None,
    ignore_warnings: bool,
) -> FormOut:
    """A new draft from an upload, or (empty body) a copy of the published version to change its media."""
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "form.update")
    definition = None
    if data:
        definition = await prepare_definition(
            res.converter, data, content_type=content_type, fallback_form_id=xml_form_id
        )
        if definition.schema.xml_form_id != xml_form_id:
            raise Problem.unexpected_value(
                "xmlFormId",
                f"the uploaded form's id is {definition.schema.xml_form_id!r}, not {xml_form_id!r}",
            )
        if definition.warnings and not ignore_warnings:
            raise Problem.form_warnings(problem_dicts(definition.warnings))
    sources = await _put_sources(res, data, definition) if definition is not None else _Sources(None, None)
    async with removed_if_refused(res.pool, res.store, sources.added), res.pool.acquire() as conn, conn.transaction():
        await claim_new_blobs(conn, res.store, sources.added)
        form = await lock_form(conn, form.id)
        if definition is None:
            if form.current_version_id is None:
                raise Problem.unexpected_value("body", "a form that was never published needs a definition")
            definition = await _definition_of(conn, form.current_version_id)
            source_blob_id = (await queries.get_version(conn, form.current_version_id)).source_blob_id
            itemsets_blob_id = None
        else:
            source_blob_id, itemsets_blob_id = await _source_rows(conn, sources, definition)
        version = await _store_version(
            conn,
            form,
            definition,
            source_blob_id=source_blob_id,
            itemsets_blob_id=itemsets_blob_id,
            created_by=access.actor.user_id,
        )
        # Media carry over by file name: from the draft being replaced first, then from the published version.
        for source_id in (form.draft_version_id, form.current_version_id):
            if source_id is not None:
                await queries.copy_attachment_blobs(conn, source_version_id=source_id, target_version_id=version.id)
        if form.draft_version_id is not None:
            await queries.delete_draft(conn, form.id, form.draft_version_id)
        await queries.set_draft(conn, form.id, version.id)
        await record_audit(
            conn,
            "form.draft.create",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            form_id=form.id,
            details={"version": version.version},
        )
        form = await lock_form(conn, form.id)
        return FormOut.of(form, version, warnings=definition.warnings)


async def _definition_of(conn: Connection, version_id: int) -> Definition:
    version = await queries.get_version(conn, version_id)
    xml = await queries.get_version_xml(conn, version_id)
    schema = msgspec.convert(await queries.version_schema(conn, version_id), FormSchema)
    return Definition(
        xml=xml,
        xml_md5=version.xml_md5,
        schema=schema,
        source_type=version.source_type,  # type: ignore[arg-type]
        itemsets_csv=None,
        warnings=[],
    )


async def publish_draft(res: Resources, access: Access, xml_form_id: str, *, new_version: str | None) -> FormOut:
    async with res.pool.acquire() as conn, conn.transaction():
        form = await authorized_form(conn, access, xml_form_id, "form.update")
        form = await lock_form(conn, form.id)
        if form.draft_version_id is None:
            raise Problem.not_found("draft")
        version = await queries.get_version(conn, form.draft_version_id)
        if new_version is not None and new_version != version.version:
            if not new_version.strip() or len(new_version) > 200:
                raise Problem.unexpected_value("version", "a version is 1 to 200 characters")
            xml = set_instance_version(await queries.get_version_xml(conn, version.id), new_version)
            await queries.set_version_xml(
                conn, version.id, version=new_version, xml=xml, xml_md5=md5_hex(xml.encode("utf-8"))
            )
            version = await queries.get_version(conn, version.id)
        await _publish(conn, form, version)
        await record_audit(
            conn,
            "form.publish",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            form_id=form.id,
            details={"version": version.version},
        )
        return await _form_out(conn, form.id)


async def delete_draft(res: Resources, access: Access, xml_form_id: str) -> None:
    async with res.pool.acquire() as conn, conn.transaction():
        form = await authorized_form(conn, access, xml_form_id, "form.update")
        form = await lock_form(conn, form.id)
        if form.draft_version_id is None:
            raise Problem.not_found("draft")
        if form.current_version_id is None:
            raise Problem.no_published_version()
        await queries.delete_draft(conn, form.id, form.draft_version_id)


async def set_form_state(res: Resources, access: Access, xml_form_id: str, state: FormState) -> FormOut:
    async with res.pool.acquire() as conn, conn.transaction():
        form = await authorized_form(conn, access, xml_form_id, "form.update")
        await queries.update_state(conn, form.id, state)
        await record_audit(
            conn,
            "form.update.state",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            form_id=form.id,
            details={"state": state},
        )
        return await _form_out(conn, form.id)


async def delete_form(res: Resources, access: Access, xml_form_id: str) -> None:
    async with res.pool.acquire() as conn, conn.transaction():
        form = await authorized_form(conn, access, xml_form_id, "form.delete")
        await queries.soft_delete_form(conn, form.id)
        await record_audit(
            conn, "form.delete", actor_user_id=access.actor.user_id, project_id=access.project_id, form_id=form.id
        )
