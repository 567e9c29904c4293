"""Project operations: the container of forms, app users and role assignments (ODK Central's /v1/projects).

Functions that act on one project take the caller's `Access` to it (resolved once per request, auth/access.py).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from service.audits import record_audit
from service.auth.access import ALL_VERBS, access_for, require_admin
from service.errors import Problem

from . import queries
from .models import AssignmentOut, ProjectOut

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.auth.models import Actor, Role
    from service.resources import Resources

# A GSO code (district 474, commune 19750) or a village key as forms give them (19750-01).
_AREA_CODE = re.compile(r"[0-9][0-9A-Za-z_-]{0,39}")

__all__ = [
    "assign_role",
    "create_project",
    "delete_project",
    "ensure_default_project",
    "get_project",
    "list_project_assignments",
    "list_projects",
    "unassign_role",
    "update_project",
]


async def list_projects(res: Resources, actor: Actor) -> list[ProjectOut]:
    """Admins see every project; users those where they hold a role; anyone else must sign in."""
    if actor.kind != "user":
        require_admin(actor)
    async with res.pool.acquire() as conn:
        rows = await queries.list_projects(conn, user_id=actor.id, every=actor.is_admin)
    return [ProjectOut.of(row, access_for(actor, row).verbs) for row in rows]


async def get_project(res: Resources, access: Access) -> ProjectOut:
    access.require("project.read")
    return ProjectOut.of(access.project, access.verbs)


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= 200:
        raise Problem.unexpected_value("name", "a project name has 1 to 200 characters")
    return cleaned


async def create_project(res: Resources, actor: Actor, *, name: str, description: str) -> ProjectOut:
    require_admin(actor)
    async with res.pool.acquire() as conn, conn.transaction():
        row = await queries.insert_project(conn, name=_clean_name(name), description=description)
        await record_audit(conn, "project.create", actor_user_id=actor.user_id, project_id=row.id)
    return ProjectOut.of(row, ALL_VERBS)


async def ensure_default_project(res: Resources, name: str) -> int:
    """Create the first project on a fresh database (start-up); return the id of the lowest live project."""
    async with res.pool.acquire() as conn, conn.transaction():
        await queries.lock_first_start(conn)
        rows = await queries.list_projects(conn, user_id=None, every=True)
        if rows:
            return min(row.id for row in rows)
        row = await queries.insert_project(conn, name=name, description="")
        await record_audit(conn, "project.create", actor_user_id=None, project_id=row.id)
        return row.id


async def update_project(
    res: Resources,
    access: Access,
    *,
    name: str | None,
    description: str | None,
    archived: bool | None,
) -> ProjectOut:
    access.require("project.update")
    async with res.pool.acquire() as conn, conn.transaction():
        row = await queries.update_project(
            conn,
            access.project_id,
            name=_clean_name(name) if name is not None else None,
            description=description,
            archived=archived,
        )
        if row is None:
            raise Problem.not_found("project")
        await record_audit(conn, "project.update", actor_user_id=access.actor.user_id, project_id=row.id)
    return ProjectOut.of(row, access.verbs)


async def delete_project(res: Resources, access: Access) -> None:
    access.require("project.read")
    require_admin(access.actor)
    async with res.pool.acquire() as conn, conn.transaction():
        await queries.soft_delete_project(conn, access.project_id)
        await record_audit(conn, "project.delete", actor_user_id=access.actor.user_id, project_id=access.project_id)


async def list_project_assignments(res: Resources, access: Access) -> list[AssignmentOut]:
    access.require("assignment.manage")
    async with res.pool.acquire() as conn:
        return [AssignmentOut.from_row(row) for row in await queries.list_assignments(conn, access.project_id)]


async def assign_role(
    res: Resources, access: Access, *, user_id: int, role: Role, area_codes: list[str] | None
) -> None:
    access.require("assignment.manage")
    if area_codes is not None and not all(_AREA_CODE.fullmatch(code) for code in area_codes):
        raise Problem.unexpected_value("areaCodes", "area codes are GSO codes of districts, communes or villages")
    if role == "manager" and not access.actor.is_admin:
        raise Problem.insufficient_rights()
    async with res.pool.acquire() as conn, conn.transaction():
        if area_codes and (unknown := await queries.unknown_areas(conn, area_codes)):
            raise Problem.unexpected_value("areaCodes", f"no such area: {', '.join(unknown)} (see GET /v1/areas)")
        if not await queries.upsert_assignment(
            conn, project_id=access.project_id, user_id=user_id, role=role, area_codes=area_codes
        ):
            raise Problem.not_found("user")
        await record_audit(
            conn,
            "project.assignment.create",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            details={"userId": user_id, "role": role, "areaCodes": area_codes},
        )


async def unassign_role(res: Resources, access: Access, *, user_id: int, role: Role) -> None:
    access.require("assignment.manage")
    if role == "manager" and not access.actor.is_admin:
        raise Problem.insufficient_rights()
    async with res.pool.acquire() as conn, conn.transaction():
        if not await queries.delete_assignment(conn, project_id=access.project_id, user_id=user_id, role=role):
            raise Problem.not_found("assignment")
        await record_audit(
            conn,
            "project.assignment.delete",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            details={"userId": user_id, "role": role},
        )
