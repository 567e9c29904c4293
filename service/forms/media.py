"""Form media (villages.csv, images): streamed into the draft, only under names the form references."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.audits import record_audit
from service.errors import Problem
from service.media.blobs import claim_new_blobs, ensure_blob, removed_if_refused, store_stream

from . import queries
from .models import AttachmentOut

if TYPE_CHECKING:
    from collections.abc import AsyncIterable

    from service.auth.access import Access
    from service.resources import Resources


from .access import authorized_form, lock_form

__all__ = ["clear_attachment", "upload_attachment"]


async def upload_attachment(
    res: Resources,
    access: Access,
    xml_form_id: str,
    name: str,
    chunks: AsyncIterable[bytes],
) -> AttachmentOut:
    """Stream a media file into the draft; only names the form references are accepted (as Central)."""
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "form.update")
        if form.draft_version_id is None:
            raise Problem.not_found("draft")
        expected = {r.name: r for r in await queries.list_attachments(conn, form.draft_version_id)}
    if name not in expected:
        raise Problem.not_found("form attachment")

    def accept(content_type: str) -> None:
        if expected[name].kind == "image" and not content_type.startswith("image/"):
            raise Problem.not_an_image(name, f"its content looks like {content_type}")

    limit = res.settings.max_form_attachment_bytes
    content = await store_stream(res.store, chunks, limit=limit, want_md5=True, accept=accept)
    added = [(bytes.fromhex(content.sha256), content.storage_key)]
    async with removed_if_refused(res.pool, res.store, added), res.pool.acquire() as conn, conn.transaction():
        await claim_new_blobs(conn, res.store, added)
        form = await lock_form(conn, form.id)
        if form.draft_version_id is None:
            raise Problem.not_found("draft")
        blob_id = await ensure_blob(conn, content)
        await queries.set_attachment_blob(conn, form.draft_version_id, name, blob_id)
        await record_audit(
            conn,
            "form.attachment.update",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            form_id=form.id,
            details={"name": name, "sha256": content.sha256},
        )
        rows = await queries.list_attachments(conn, form.draft_version_id)
    return AttachmentOut.of(next(r for r in rows if r.name == name))


async def clear_attachment(res: Resources, access: Access, xml_form_id: str, name: str) -> None:
    async with res.pool.acquire() as conn, conn.transaction():
        form = await authorized_form(conn, access, xml_form_id, "form.update")
        if form.draft_version_id is None:
            raise Problem.not_found("draft")
        if not await queries.set_attachment_blob(conn, form.draft_version_id, name, None):
            raise Problem.not_found("form attachment")
