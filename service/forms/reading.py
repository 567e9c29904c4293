"""Reading forms back: the XForm as served, the uploaded source, versions, fields and media files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from service.errors import Problem
from service.media.blobs import blob_by_id

from . import queries
from .models import AttachmentOut, FieldOut, FormOut
from .schema import FormSchema

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.auth.access import Access
    from service.resources import Resources

    from .access import VersionSelector

from .access import authorized_form, read_verb, select_version

__all__ = ["form_fields", "list_attachments", "list_versions", "read_attachment", "read_form_xml", "read_source"]


async def read_form_xml(
    res: Resources, access: Access, xml_form_id: str, which: VersionSelector = "published"
) -> tuple[str, str]:
    """The XForm text exactly as stored, and its md5."""
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, read_verb(which))
        version = await select_version(conn, form, which)
        return await queries.get_version_xml(conn, version.id), version.xml_md5


async def read_source(
    res: Resources, access: Access, xml_form_id: str, which: VersionSelector = "published"
) -> tuple[str, str, AsyncIterator[bytes]]:
    """The uploaded XLSForm (or XForm) file: (source type, content type, byte stream)."""
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "form.read")
        version = await select_version(conn, form, which)
        blob = await blob_by_id(conn, version.source_blob_id) if version.source_blob_id else None
    if blob is None:
        raise Problem.not_found("form source")
    return version.source_type, blob.content_type, res.store.read(blob.storage_key)


async def list_versions(res: Resources, access: Access, xml_form_id: str) -> list[FormOut]:
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "form.read")
        return [FormOut.of(form, v) for v in await queries.list_published_versions(conn, form.id)]


async def form_fields(
    res: Resources, access: Access, xml_form_id: str, which: VersionSelector = "published"
) -> list[FieldOut]:
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "form.read")
        version = await select_version(conn, form, which)
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
    res: Resources, access: Access, xml_form_id: str, which: VersionSelector = "published"
) -> list[AttachmentOut]:
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, read_verb(which))
        version = await select_version(conn, form, which)
        return [AttachmentOut.of(row) for row in await queries.list_attachments(conn, version.id)]


async def read_attachment(
    res: Resources,
    access: Access,
    xml_form_id: str,
    name: str,
    which: VersionSelector = "published",
) -> tuple[str, str, int, AsyncIterator[bytes]]:
    """(content type, md5, size, byte stream) of an uploaded form attachment."""
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, read_verb(which))
        version = await select_version(conn, form, which)
        rows = await queries.list_attachments(conn, version.id)
    row = next((r for r in rows if r.name == name), None)
    if row is None or row.storage_key is None or row.md5 is None or row.size is None:
        raise Problem.not_found("form attachment")
    content_type = _attachment_content_type(name, row.content_type or "application/octet-stream")
    return content_type, row.md5, row.size, res.store.read(row.storage_key)


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
