"""Reading households back: lists (keyset-paged), one household, its XML, versions and files.

Every read goes through the reader's Scope (auth/access.py): a household outside it is simply not found (404),
so its existence does not leak.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from service.errors import Problem
from service.forms.access import authorized_form

from . import queries
from .models import AttachmentOut, SubmissionOut, VersionOut

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.auth.access import Access, Scope
    from service.db.pool import Connection
    from service.resources import Resources

    from .queries import SubmissionRow

__all__ = [
    "MAX_PAGE",
    "Page",
    "get_submission",
    "list_submissions",
    "read_attachment",
    "submission_attachments",
    "submission_versions",
    "submission_xml",
]

MAX_PAGE = 1000


class Page(msgspec.Struct, frozen=True):
    items: list[SubmissionOut]
    # Opaque; pass as ?cursor= for the next page. None on the last page.
    next_cursor: str | None


class _Cursor(msgspec.Struct, array_like=True, frozen=True):
    created_at: datetime
    id: int


_encode_cursor = msgspec.json.Encoder().encode
_decode_cursor = msgspec.json.Decoder(_Cursor).decode


def _cursor_of(row: SubmissionRow) -> str:
    return base64.urlsafe_b64encode(_encode_cursor(_Cursor(row.created_at, row.id))).decode().rstrip("=")


def _parse_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parsed = _decode_cursor(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise Problem.unexpected_value("cursor", "it is not a cursor this server gave out") from None
    return parsed.created_at, parsed.id


async def list_submissions(
    res: Resources, access: Access, xml_form_id: str, *, limit: int, cursor: str | None, extended: bool = False
) -> Page:
    if not 1 <= limit <= MAX_PAGE:
        raise Problem.unexpected_value("limit", f"limit is 1 to {MAX_PAGE}")
    before = _parse_cursor(cursor) if cursor else None
    scope = access.scope("submission.list")
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "submission.list")
        rows = await queries.list_submissions(conn, scope, form.id, limit=limit + 1, before=before)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [SubmissionOut.of(row, extended=extended) for row in rows]
    return Page(items=items, next_cursor=_cursor_of(rows[-1]) if more else None)


async def _submission(
    conn: Connection, access: Access, xml_form_id: str, instance_id: str
) -> tuple[Scope, SubmissionRow]:
    scope = access.scope("submission.read")
    form = await authorized_form(conn, access, xml_form_id, "submission.read")
    row = await queries.get_submission(conn, scope, form.id, instance_id)
    if row is None:
        raise Problem.not_found("submission")
    return scope, row


async def get_submission(
    res: Resources, access: Access, xml_form_id: str, instance_id: str, *, extended: bool = False
) -> SubmissionOut:
    async with res.pool.acquire() as conn:
        _, row = await _submission(conn, access, xml_form_id, instance_id)
    return SubmissionOut.of(row, extended=extended)


async def submission_xml(res: Resources, access: Access, xml_form_id: str, instance_id: str) -> str:
    async with res.pool.acquire() as conn:
        scope, row = await _submission(conn, access, xml_form_id, instance_id)
        xml = await queries.current_xml(conn, scope, row.id)
    if xml is None:  # pragma: no cover - the row was in scope a statement ago
        raise Problem.not_found("submission")
    return xml


async def submission_versions(res: Resources, access: Access, xml_form_id: str, instance_id: str) -> list[VersionOut]:
    async with res.pool.acquire() as conn:
        scope, row = await _submission(conn, access, xml_form_id, instance_id)
        versions = await queries.list_versions(conn, scope, row.id)
    return [VersionOut.of(version) for version in versions]


async def submission_attachments(
    res: Resources, access: Access, xml_form_id: str, instance_id: str
) -> list[AttachmentOut]:
    async with res.pool.acquire() as conn:
        scope, row = await _submission(conn, access, xml_form_id, instance_id)
        rows = await queries.attachment_rows(conn, scope, row.id)
    return [AttachmentOut.from_row(r) for r in rows]


async def read_attachment(
    res: Resources, access: Access, xml_form_id: str, instance_id: str, name: str
) -> tuple[str, int, str, AsyncIterator[bytes]]:
    """(content type, size, sha256, stream) of one file of the current version."""
    async with res.pool.acquire() as conn:
        scope, row = await _submission(conn, access, xml_form_id, instance_id)
        rows = await queries.attachment_rows(conn, scope, row.id)
    found = next((r for r in rows if r.name == name and r.exists), None)
    if found is None or found.storage_key is None or found.content_type is None or found.size is None:
        raise Problem.not_found("submission attachment")
    assert found.sha256 is not None
    return found.content_type, found.size, found.sha256, res.store.read(found.storage_key)
