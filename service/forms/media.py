"""Form media (villages.csv, images): streamed into the draft, only under names the form references."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.audit import record_audit
from service.errors import Problem
from service.media.blobs import ensure_blob, store_stream

from . import queries
from .models import AttachmentOut

if TYPE_CHECKING:
    from collections.abc import AsyncIterable

    from service.auth.models import Actor
    from service.http import Services


from .access import authorized_form, lock_form

__all__ = ["clear_attachment", "upload_attachment"]


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
        form = await authorized_form(conn, actor, project_id, xml_form_id, "form.update")
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
        form = await lock_form(conn, form.id)
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
        form = await authorized_form(conn, actor, project_id, xml_form_id, "form.update")
        if form.draft_version_id is None:
            raise Problem.no_draft()
        if not await queries.set_attachment_blob(conn, form.draft_version_id, name, None):
            raise Problem.not_found("form attachment")
