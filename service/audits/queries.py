"""All SQL reading the audit log (writing is record.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.db.rows import many

from .models import AuditRow

if TYPE_CHECKING:
    from datetime import datetime

    from service.db.pool import Connection

__all__ = ["list_audits", "managed_projects"]


async def list_audits(
    conn: Connection,
    *,
    projects: list[int] | None,
    action: str | None,
    action_prefix: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> list[AuditRow]:
    """Newest first. `projects` None: every entry (admins); else only entries of those projects."""
    rows = await conn.fetch(
        """select id, actor_user_id as actor_id, action, project_id, form_id, details, logged_at from audits
        where ($1::bigint[] is null or project_id = any($1::bigint[]))
          and ($2::text is null or action = $2)
          and ($3::text is null or starts_with(action, $3))
          and ($4::timestamptz is null or logged_at >= $4)
          and ($5::timestamptz is null or logged_at < $5)
        order by logged_at desc, id desc limit $6 offset $7""",
        projects,
        action,
        action_prefix,
        start,
        end,
        limit,
        offset,
    )
    return many(rows, AuditRow)


async def managed_projects(conn: Connection, user_id: int) -> list[int]:
    projects: list[int] = await conn.fetchval(
        "select coalesce(array_agg(project_id), '{}') from project_assignments where user_id = $1 and role = 'manager'",
        user_id,
    )
    return projects
