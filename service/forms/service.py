"""Form operations: upload (XLSForm or XForm), drafts, publishing, state, media, and reading them back.

Life of a form, as in ODK Central: an upload creates the form with a draft version; publishing stamps the draft
and makes it the version Collect downloads; a later upload makes a new draft of the same form id. Published
versions are kept, so phones still holding an older one can submit against it.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING, Literal

import asyncpg
import msgspec

from service.audit import record_audit
from service.errors import Problem
from service.media.blobs import blob_by_id, ensure_blob, md5_hex, store_bytes, store_stream
from service.projects.service import authorize_project

from . import queries
from .convert import ConversionFailed, FormProblem
from .models import AttachmentOut, FieldOut, FormOut
from .schema import FormSchema, FormXmlError, parse_xform
from .xml_edit import set_instance_version

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator

    from service.auth.models import Actor
    from service.db.pool import Connection
    from service.http import Services

    from .convert import FileType, FormConverter
    from .models import FormRow, FormState, VersionRow

__all__ = [
    "Definition",
    "authorized_form_id",
    "create_draft",
    "create_form",
    "delete_draft",
    "delete_form",
    "form_fields",
    "get_draft",
    "get_form",
    "list_attachments",
    "list_forms",
    "list_versions",
    "prepare_definition",
    "publish_draft",
    "read_attachment",
    "read_form_xml",
    "read_source",
    "clear_attachment",
    "set_form_state",
    "upload_attachment",
]

SourceType = Literal["xlsx", "xls", "xml"]
# Which version of a form to read: "published", "draft", or a published version string.
VersionSelector = str
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_XLS = "application/vnd.ms-excel"
_XML = ("application/xml", "text/xml")
SOURCE_CONTENT_TYPES: dict[str, str] = {"xlsx": _XLSX, "xls": _XLS, "xml": "application/xml"}


class Definition(msgspec.Struct, frozen=True):
    """A form definition that converted and validated, ready to be stored."""

    xml: str
    xml_md5: str
    schema: FormSchema
    source_type: SourceType
    itemsets_csv: str | None
    warnings: list[FormProblem]


def detect_source_type(content_type: str | None, head: bytes) -> SourceType:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type == _XLSX:
        return "xlsx"
    if media_type == _XLS:
        return "xls"
    if media_type in _XML:
        return "xml"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "xml"
    raise Problem.unsupported_media_type(content_type, [_XLSX, _XLS, "application/xml"])


def _problem_dicts(problems: list[FormProblem]) -> list[dict[str, object]]:
    return [msgspec.to_builtins(p) for p in problems]


async def prepare_definition(
    converter: FormConverter, data: bytes, *, content_type: str | None, fallback_form_id: str | None
) -> Definition:
    """Convert (XLSForm) or check (XForm) an upload; raise a 400 Problem listing what is wrong and where."""
    if not data:
        raise Problem.unparseable("a form definition", "the body is empty")
    source_type = detect_source_type(content_type, data[:16])
    warnings: list[FormProblem] = []
    itemsets_csv = None
    try:
        if source_type == "xml":
            xml = data.decode("utf-8")
            schema = await asyncio.to_thread(parse_xform, data)
            if not schema.version:
                version = hashlib.sha256(data).hexdigest()[:10]
                xml = set_instance_version(xml, version)
                schema = await asyncio.to_thread(parse_xform, xml.encode("utf-8"))
                warnings.append(
                    FormProblem(
                        severity="warning",
                        source="server",
                        message=f"The form has no version; it was given the version {version}.",
                    )
                )
            errors = await converter.validate_xform(xml)
            if any(p.severity == "error" for p in errors):
                raise Problem.xlsform_invalid(_problem_dicts(errors))
            warnings.extend(errors)
        else:
            file_type: FileType = ".xlsx" if source_type == "xlsx" else ".xls"
            converted = await converter.convert(data, file_type, fallback_form_id=fallback_form_id)
            xml = converted.xml
            itemsets_csv = converted.itemsets_csv
            warnings.extend(converted.warnings)
            schema = await asyncio.to_thread(parse_xform, xml.encode("utf-8"))
    except ConversionFailed as exc:
        raise Problem.xlsform_invalid(_problem_dicts(exc.problems)) from None
    except (FormXmlError, UnicodeDecodeError, ValueError) as exc:
        problem = FormProblem(severity="error", source="server", message=f"This is not a usable XForm: {exc}")
        raise Problem.xlsform_invalid(_problem_dicts([problem])) from None
    if schema.xml_form_id == "data" and source_type != "xml":
        # pyxform's fallback id; the converter should have prevented it, but never store a form called "data".
        problem = FormProblem(severity="error", source="server", sheet="settings", message="form_id is missing")
        raise Problem.xlsform_invalid(_problem_dicts([problem]))
    return Definition(
        xml=xml,
        xml_md5=md5_hex(xml.encode("utf-8")),
        schema=schema,
        source_type=source_type,
        itemsets_csv=itemsets_csv,
        warnings=warnings,
    )


async def _store_version(
    conn: Connection,
    services: Services,
    form: FormRow,
    definition: Definition,
    *,
    source_blob_id: int | None,
    itemsets_blob_id: int | None,
    actor: Actor,
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
        created_by=actor.user_id,
    )
    await queries.insert_attachments(conn, version.id, [(m.name, m.kind) for m in definition.schema.media])
    if itemsets_blob_id is not None:
        await queries.set_attachment_blob(conn, version.id, "itemsets.csv", itemsets_blob_id)
    return version


async def _store_sources(
    conn: Connection, services: Services, data: bytes | None, definition: Definition
) -> tuple[int | None, int | None]:
    source_blob_id = itemsets_blob_id = None
    if data is not None:
        content = await store_bytes(services.store, data)
        source_blob_id = await ensure_blob(conn, content, content_type=SOURCE_CONTENT_TYPES[definition.source_type])
    if definition.itemsets_csv is not None:
        content = await store_bytes(services.store, definition.itemsets_csv.encode("utf-8"))
        itemsets_blob_id = await ensure_blob(conn, content, content_type="text/csv")
    return source_blob_id, itemsets_blob_id


async def create_form(
    services: Services,
    actor: Actor,
    project_id: int,
    data: bytes,
    *,
    content_type: str | None,
    fallback_form_id: str | None,
    publish: bool,
    ignore_warnings: bool,
) -> FormOut:
    async with services.pool.acquire() as conn:
        await authorize_project(conn, actor, project_id, "form.create")
    definition = await prepare_definition(
        services.converter, data, content_type=content_type, fallback_form_id=fallback_form_id
    )
    if definition.warnings and not ignore_warnings:
        raise Problem.form_warnings(_problem_dicts(definition.warnings))
    async with services.pool.acquire() as conn, conn.transaction():
        source_blob_id, itemsets_blob_id = await _store_sources(conn, services, data, definition)
        try:
            form = await queries.insert_form(
                conn,
                project_id=project_id,
                xml_form_id=definition.schema.xml_form_id,
                created_by=actor.user_id,
            )
        except asyncpg.UniqueViolationError:
            raise Problem.already_exists(
                "projectId, xmlFormId", f"{project_id}, {definition.schema.xml_form_id}"
            ) from None
        version = await _store_version(
            conn,
            services,
            form,
            definition,
            source_blob_id=source_blob_id,
            itemsets_blob_id=itemsets_blob_id,
            actor=actor,
        )
        await queries.set_draft(conn, form.id, version.id)
        if publish:
            await _publish(conn, form, version)
        await record_audit(
            conn,
            "form.create",
            actor_user_id=actor.user_id,
            project_id=project_id,
            form_id=form.id,
            details={"version": version.version, "published": publish},
        )
        return await _form_out(conn, form.id, warnings=definition.warnings)


async def _publish(conn: Connection, form: FormRow, version: VersionRow) -> None:
    async with conn.transaction():  # a savepoint, so a clash leaves the outer transaction usable
        try:
            await queries.publish_version(conn, form.id, version.id)
        except asyncpg.UniqueViolationError:
            raise Problem.version_conflict(form.xml_form_id, version.version) from None


async def _form_out(conn: Connection, form_id: int, *, warnings: list[FormProblem] | None = None) -> FormOut:
    """The form as Central shows it: its published version, or its draft while it was never published."""
    form = await _lock_form(conn, form_id, lock=False)
    version_id = form.current_version_id or form.draft_version_id
    assert version_id is not None
    return FormOut.of(form, await queries.get_version(conn, version_id), warnings=warnings)


async def _authorized_form(conn: Connection, actor: Actor, project_id: int, xml_form_id: str, verb: str) -> FormRow:
    await authorize_project(conn, actor, project_id, verb)
    form = await queries.get_form(conn, project_id, xml_form_id)
    if form is None:
        raise Problem.not_found("form")
    # App users (Collect devices) reach only the forms assigned to them.
    if actor.kind == "app_user" and (actor.id is None or not await queries.app_user_assigned(conn, form.id, actor.id)):
        raise Problem.insufficient_rights()
    return form


async def authorized_form_id(conn: Connection, actor: Actor, project_id: int, xml_form_id: str, verb: str) -> int:
    """For other capabilities: the form's id after checking `verb` in its project (404/401/403 otherwise)."""
    return (await _authorized_form(conn, actor, project_id, xml_form_id, verb)).id


def _read_verb(which: VersionSelector) -> str:
    # Drafts are for the people editing the form, not for devices collecting data.
    return "form.update" if which == "draft" else "form.read"


async def list_forms(services: Services, actor: Actor, project_id: int) -> list[FormOut]:
    async with services.pool.acquire() as conn:
        await authorize_project(conn, actor, project_id, "form.list")
        return [FormOut.of(form, version) for form, version in await queries.list_forms(conn, project_id)]


async def get_form(services: Services, actor: Actor, project_id: int, xml_form_id: str) -> FormOut:
    async with services.pool.acquire() as conn:
        form = await _authorized_form(conn, actor, project_id, xml_form_id, "form.read")
        return await _form_out(conn, form.id)


async def get_draft(services: Services, actor: Actor, project_id: int, xml_form_id: str) -> FormOut:
    async with services.pool.acquire() as conn:
        form = await _authorized_form(conn, actor, project_id, xml_form_id, "form.read")
        if form.draft_version_id is None:
            raise Problem.not_found("draft")
        return FormOut.of(form, await queries.get_version(conn, form.draft_version_id))


async def create_draft(
    services: Services,
    actor: Actor,
    project_id: int,
    xml_form_id: str,
    data: bytes,
    *,
    content_type: str | None,
    ignore_warnings: bool,
) -> FormOut:
    """A new draft from an upload, or (empty body) a copy of the published version to change its media."""
    async with services.pool.acquire() as conn:
        form = await _authorized_form(conn, actor, project_id, xml_form_id, "form.update")
    definition = None
    if data:
        definition = await prepare_definition(
            services.converter, data, content_type=content_type, fallback_form_id=xml_form_id
        )
        if definition.schema.xml_form_id != xml_form_id:
            raise Problem.unexpected_value(
                "xmlFormId",
                f"the uploaded form's id is {definition.schema.xml_form_id!r}, not {xml_form_id!r}",
            )
        if definition.warnings and not ignore_warnings:
            raise Problem.form_warnings(_problem_dicts(definition.warnings))
    async with services.pool.acquire() as conn, conn.transaction():
        form = await _lock_form(conn, form.id)
        if definition is None:
            if form.current_version_id is None:
                raise Problem.unexpected_value("body", "a form that was never published needs a definition")
            definition = await _definition_of(conn, form.current_version_id)
            source_blob_id = (await queries.get_version(conn, form.current_version_id)).source_blob_id
            itemsets_blob_id = None
        else:
            source_blob_id, itemsets_blob_id = await _store_sources(conn, services, data, definition)
        version = await _store_version(
            conn,
            services,
            form,
            definition,
            source_blob_id=source_blob_id,
            itemsets_blob_id=itemsets_blob_id,
            actor=actor,
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
            actor_user_id=actor.user_id,
            project_id=project_id,
            form_id=form.id,
            details={"version": version.version},
        )
        form = await _lock_form(conn, form.id)
        return FormOut.of(form, version, warnings=definition.warnings)


async def _lock_form(conn: Connection, form_id: int, *, lock: bool = True) -> FormRow:
    row = await queries.get_form_by_id(conn, form_id, for_update=lock)
    if row is None:
        raise Problem.not_found("form")
    return row


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


async def publish_draft(
    services: Services, actor: Actor, project_id: int, xml_form_id: str, *, new_version: str | None
) -> FormOut:
    async with services.pool.acquire() as conn, conn.transaction():
        form = await _authorized_form(conn, actor, project_id, xml_form_id, "form.update")
        form = await _lock_form(conn, form.id)
        if form.draft_version_id is None:
            raise Problem.no_draft()
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
            actor_user_id=actor.user_id,
            project_id=project_id,
            form_id=form.id,
            details={"version": version.version},
        )
        return await _form_out(conn, form.id)


async def delete_draft(services: Services, actor: Actor, project_id: int, xml_form_id: str) -> None:
    async with services.pool.acquire() as conn, conn.transaction():
        form = await _authorized_form(conn, actor, project_id, xml_form_id, "form.update")
        form = await _lock_form(conn, form.id)
        if form.draft_version_id is None:
            raise Problem.no_draft()
        if form.current_version_id is None:
            raise Problem(409.7, "This form was never published; delete the form instead of its only draft.")
        await queries.delete_draft(conn, form.id, form.draft_version_id)


async def set_form_state(
    services: Services, actor: Actor, project_id: int, xml_form_id: str, state: FormState
) -> FormOut:
    async with services.pool.acquire() as conn, conn.transaction():
        form = await _authorized_form(conn, actor, project_id, xml_form_id, "form.update")
        await queries.update_state(conn, form.id, state)
        await record_audit(
            conn,
            "form.update.state",
            actor_user_id=actor.user_id,
            project_id=project_id,
            form_id=form.id,
            details={"state": state},
        )
        return await _form_out(conn, form.id)


async def delete_form(services: Services, actor: Actor, project_id: int, xml_form_id: str) -> None:
    async with services.pool.acquire() as conn, conn.transaction():
        form = await _authorized_form(conn, actor, project_id, xml_form_id, "form.delete")
        await queries.soft_delete_form(conn, form.id)
        await record_audit(conn, "form.delete", actor_user_id=actor.user_id, project_id=project_id, form_id=form.id)


async def _select_version(conn: Connection, form: FormRow, which: VersionSelector) -> VersionRow:
    if which == "published":
        version_id = form.current_version_id
    elif which == "draft":
        version_id = form.draft_version_id
    else:
        found = await queries.get_version_by_string(conn, form.id, which)
        version_id = found.id if found else None
    if version_id is None:
        raise Problem.not_found("form version")
    return await queries.get_version(conn, version_id)


async def read_form_xml(
    services: Services, actor: Actor, project_id: int, xml_form_id: str, which: VersionSelector = "published"
) -> tuple[str, str]:
    """The XForm text exactly as stored, and its md5."""
    async with services.pool.acquire() as conn:
        form = await _authorized_form(conn, actor, project_id, xml_form_id, _read_verb(which))
        version = await _select_version(conn, form, which)
        return await queries.get_version_xml(conn, version.id), version.xml_md5


async def read_source(
    services: Services, actor: Actor, project_id: int, xml_form_id: str, which: VersionSelector = "published"
) -> tuple[str, str, AsyncIterator[bytes]]:
    """The uploaded XLSForm (or XForm) file: (source type, content type, byte stream)."""
    async with services.pool.acquire() as conn:
        form = await _authorized_form(conn, actor, project_id, xml_form_id, "form.read")
        version = await _select_version(conn, form, which)
        blob = await blob_by_id(conn, version.source_blob_id) if version.source_blob_id else None
    if blob is None:
        raise Problem.not_found("form source")
    return version.source_type, blob.content_type, services.store.read(blob.storage_key)


async def list_versions(services: Services, actor: Actor, project_id: int, xml_form_id: str) -> list[FormOut]:
    async with services.pool.acquire() as conn:
        form = await _authorized_form(conn, actor, project_id, xml_form_id, "form.read")
        return [FormOut.of(form, v) for v in await queries.list_published_versions(conn, form.id)]


async def form_fields(
    services: Services, actor: Actor, project_id: int, xml_form_id: str, which: VersionSelector = "published"
) -> list[FieldOut]:
    async with services.pool.acquire() as conn:
        form = await _authorized_form(conn, actor, project_id, xml_form_id, "form.read")
        version = await _select_version(conn, form, which)
        schema = msgspec.convert(await queries.version_schema(conn, version.id), FormSchema)
    return [
        FieldOut(
            name=field.name,
            path=field.path,
            type=field.type,
            binary=field.binary,
            select_multiple=field.select_multiple,
        )
        for field in schema.fields
    ]


async def list_attachments(
    services: Services, actor: Actor, project_id: int, xml_form_id: str, which: VersionSelector = "published"
) -> list[AttachmentOut]:
    async with services.pool.acquire() as conn:
        form = await _authorized_form(conn, actor, project_id, xml_form_id, _read_verb(which))
        version = await _select_version(conn, form, which)
        return [AttachmentOut.of(row) for row in await queries.list_attachments(conn, version.id)]


async def read_attachment(
    services: Services,
    actor: Actor,
    project_id: int,
    xml_form_id: str,
    name: str,
    which: VersionSelector = "published",
) -> tuple[str, str, int, AsyncIterator[bytes]]:
    """(content type, md5, size, byte stream) of an uploaded form attachment."""
    async with services.pool.acquire() as conn:
        form = await _authorized_form(conn, actor, project_id, xml_form_id, _read_verb(which))
        version = await _select_version(conn, form, which)
        rows = await queries.list_attachments(conn, version.id)
    row = next((r for r in rows if r.name == name), None)
    if row is None or row.storage_key is None or row.md5 is None or row.size is None:
        raise Problem.not_found("form attachment")
    content_type = _attachment_content_type(name, row.content_type or "application/octet-stream")
    return content_type, row.md5, row.size, services.store.read(row.storage_key)


def _attachment_content_type(name: str, sniffed: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "text/csv"
    if lowered.endswith(".geojson"):
        return "application/geo+json"
    if lowered.endswith(".xml"):
        return "text/xml"
    if sniffed == "text/plain":
        return "text/plain"
    return sniffed


async def upload_attachment(
    services: Services,
    actor: Actor,
    project_id: int,
    xml_form_id: str,
    name: str,
    chunks: AsyncIterable[bytes],
) -> AttachmentOut:
    """Stream a media file into the draft; only names the form references are accepted (as Central)."""
    async with services.pool.acquire() as conn:
        form = await _authorized_form(conn, actor, project_id, xml_form_id, "form.update")
        if form.draft_version_id is None:
            raise Problem.no_draft()
        expected = {r.name: r for r in await queries.list_attachments(conn, form.draft_version_id)}
    if name not in expected:
        raise Problem.not_found("form attachment")
    content = await store_stream(
        services.store, chunks, limit=services.settings.max_form_attachment_bytes, want_md5=True
    )
    if expected[name].kind == "image" and not content.content_type.startswith("image/"):
        raise Problem.not_an_image(name, f"its content looks like {content.content_type}")
    async with services.pool.acquire() as conn, conn.transaction():
        form = await _lock_form(conn, form.id)
        if form.draft_version_id is None:
            raise Problem.no_draft()
        blob_id = await ensure_blob(conn, content)
        await queries.set_attachment_blob(conn, form.draft_version_id, name, blob_id)
        await record_audit(
            conn,
            "form.attachment.update",
            actor_user_id=actor.user_id,
            project_id=project_id,
            form_id=form.id,
            details={"name": name, "sha256": content.sha256},
        )
        rows = await queries.list_attachments(conn, form.draft_version_id)
    return AttachmentOut.of(next(r for r in rows if r.name == name))


async def clear_attachment(services: Services, actor: Actor, project_id: int, xml_form_id: str, name: str) -> None:
    async with services.pool.acquire() as conn, conn.transaction():
        form = await _authorized_form(conn, actor, project_id, xml_form_id, "form.update")
        if form.draft_version_id is None:
            raise Problem.no_draft()
        if not await queries.set_attachment_blob(conn, form.draft_version_id, name, None):
            raise Problem.not_found("form attachment")
