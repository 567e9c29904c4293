"""Reading the audit log: admins read all of it; project managers the entries of the projects they manage.

`action` is an exact action (`submission.update`) or, as in Central, a group: a prefix without a dot (`user`,
`form`, `submission`, `project`, `areas`) selects every action that starts with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.auth.access import require_admin
from service.errors import Problem

from . import queries
from .models import AuditOut

if TYPE_CHECKING:
    from datetime import datetime

    from service.auth.models import Actor
    from service.resources import Resources

__all__ = ["MAX_AUDIT_PAGE", "list_audits"]

MAX_AUDIT_PAGE = 1000
MAX_OFFSET = 1_000_000


async def list_audits(
    res: Resources,
    actor: Actor,
    *,
    action: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> list[AuditOut]:
    if not 1 <= limit <= MAX_AUDIT_PAGE or not 0 <= offset <= MAX_OFFSET:
        raise Problem.unexpected_value("limit", f"limit is 1 to {MAX_AUDIT_PAGE}, offset 0 to {MAX_OFFSET}")
    exact, prefix = (action, None) if action and "." in action else (None, f"{action}." if action else None)
    async with res.pool.acquire() as conn:
        projects: list[int] | None = None
        if not actor.is_admin:
            if actor.user_id is None:
                require_admin(actor)
            projects = await queries.managed_projects(conn, actor.user_id or 0)
            if not projects:
                raise Problem.insufficient_rights()
        rows = await queries.list_audits(
            conn,
            projects=projects,
            action=exact,
            action_prefix=prefix,
            start=start,
            end=end,
            limit=limit,
            offset=offset,
        )
    return [AuditOut.of(row) for row in rows]
