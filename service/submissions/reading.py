"""Reading submissions back: lists, one household, its XML, versions and files (submission.read verb).

Area scoping of supervisors arrives with the review work; until then submission.read is project-wide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from service.errors import Problem
from service.forms.access import authorized_form_id

from . import queries
from .models import AttachmentOut, SubmissionOut, VersionOut

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.auth.models import Actor
    from service.db.pool import Connection
    from service.http import Services

__all__ = [
    "get_submission",
    "list_submissions",
    "read_attachment",
    "submission_attachments",
    "submission_versions",
    "submission_xml",
]

MAX_PAGE = 1000


async def list_submissions(
    services: Services, actor: Actor, project_id: int, xml_form_id: str, *, limit: int, offset: int
) -> list[SubmissionOut]:
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise Problem.unexpected_value("limit", f"limit is 1 to {MAX_PAGE} and offset is not negative")
    async with services.pool.acquire() as conn:
        form_id = await authorized_form_id(conn, actor, project_id, xml_form_id, "submission.list")
        rows = await queries.list_submissions(conn, form_id, limit=limit, offset=offset)
    return [SubmissionOut.of(row) for row in rows]


async def _submission(conn: Connection, actor: Actor, project_id: int, xml_form_id: str, instance_id: str) -> Any:
    form_id = await authorized_form_id(conn, actor, project_id, xml_form_id, "submission.read")
    row = await queries.get_submission(conn, form_id, instance_id)
    if row is None:
        raise Problem.not_found("submission")
    return row


async def get_submission(
    services: Services, actor: Actor, project_id: int, xml_form_id: str, instance_id: str
) -> SubmissionOut:
    async with services.pool.acquire() as conn:
        return SubmissionOut.of(await _submission(conn, actor, project_id, xml_form_id, instance_id))


async def submission_xml(services: Services, actor: Actor, project_id: int, xml_form_id: str, instance_id: str) -> str:
    async with services.pool.acquire() as conn:
        row = await _submission(conn, actor, project_id, xml_form_id, instance_id)
        return await queries.current_xml(conn, row["current_version_id"])


async def submission_versions(
    services: Services, actor: Actor, project_id: int, xml_form_id: str, instance_id: str
) -> list[VersionOut]:
    async with services.pool.acquire() as conn:
        row = await _submission(conn, actor, project_id, xml_form_id, instance_id)
        versions = await queries.list_versions(conn, row["id"])
    return [
        VersionOut(
            instance_id=v["instance_id"],
            deprecated_id=v["deprecated_id"],
            instance_name=v["instance_name"],
            current=v["is_current"],
            device_id=v["device_id"],
            received_at=v["received_at"],
        )
        for v in versions
    ]


async def submission_attachments(
    services: Services, actor: Actor, project_id: int, xml_form_id: str, instance_id: str
) -> list[AttachmentOut]:
    async with services.pool.acquire() as conn:
        row = await _submission(conn, actor, project_id, xml_form_id, instance_id)
        rows = await queries.attachment_rows(conn, row["current_version_id"])
    return [
        AttachmentOut(
            name=r["name"], exists=r["exists"], size=r["size"], content_type=r["content_type"], sha256=r["sha256"]
        )
        for r in rows
    ]


async def read_attachment(
    services: Services, actor: Actor, project_id: int, xml_form_id: str, instance_id: str, name: str
) -> tuple[str, int, str, AsyncIterator[bytes]]:
    """(content type, size, sha256, stream) of one file of the current version."""
    async with services.pool.acquire() as conn:
        row = await _submission(conn, actor, project_id, xml_form_id, instance_id)
        rows = await queries.attachment_rows(conn, row["current_version_id"])
    found = next((r for r in rows if r["name"] == name and r["exists"]), None)
    if found is None:
        raise Problem.not_found("submission attachment")
    return found["content_type"], found["size"], found["sha256"], services.store.read(found["storage_key"])
