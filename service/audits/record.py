"""The append-only audit log: who did what that matters (logins, form changes, later reviews and exports)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.db.pool import Connection

__all__ = ["record_audit"]


async def record_audit(
    conn: Connection,
    action: str,
    *,
    actor_user_id: int | None,
    project_id: int | None = None,
    form_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "insert into audits (actor_user_id, action, project_id, form_id, details) values ($1, $2, $3, $4, $5)",
        actor_user_id,
        action,
        project_id,
        form_id,
        details,
    )
