"""Project operations and the project-level authorisation every other capability goes through."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.audit import record_audit
from service.auth.service import ALL_VERBS, project_verbs, require
from service.errors import Problem

from . import queries
from .models import ProjectOut

if TYPE_CHECKING:
    from service.auth.models import Actor, Role
    from service.db.pool import Connection, Pool

    from .models import AssignmentOut, ProjectRow

__all__ = [
    "authorize_project",
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


async def authorize_project(
    conn: Connection, actor: Actor, project_id: int, verb: str
) -> tuple[ProjectRow, frozenset[str]]:
    """The project and the caller's verbs in it; 404 when it does not exist, 401/403 without `verb`."""
    project = await queries.get_project(conn, project_id)
    if project is None:
        raise Problem.not_found("project")
    verbs = await project_verbs(conn, actor, project_id)
    require(actor, verbs, verb)
    return project, verbs


async def list_projects(pool: Pool, actor: Actor) -> list[ProjectOut]:
    if actor.kind != "user":
        require(actor, frozenset(), "project.read")
    async with pool.acquire() as conn:
        rows = await queries.list_projects(conn, user_id=None if actor.is_admin else actor.id)
        result = []
        for row in rows:
            verbs = await project_verbs(conn, actor, row.id)
            result.append(ProjectOut.of(row, verbs))
    return result


async def get_project(pool: Pool, actor: Actor, project_id: int) -> ProjectOut:
    async with pool.acquire() as conn:
        project, verbs = await authorize_project(conn, actor, project_id, "project.read")
    return ProjectOut.of(project, verbs)


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= 200:
        raise Problem.unexpected_value("name", "a project name has 1 to 200 characters")
    return cleaned


async def create_project(pool: Pool, actor: Actor, *, name: str, description: str) -> ProjectOut:
    require(actor, ALL_VERBS if actor.is_admin else frozenset(), "project.create")
    async with pool.acquire() as conn, conn.transaction():
        row = await queries.insert_project(conn, name=_clean_name(name), description=description)
        await record_audit(conn, "project.create", actor_user_id=actor.user_id, project_id=row.id)
    return ProjectOut.of(row, ALL_VERBS)


async def ensure_default_project(pool: Pool, name: str) -> int:
    """Create the first project on a fresh database (start-up); return the id of the lowest live project."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("select pg_advisory_xact_lock(7305020232)")
        rows = await queries.list_projects(conn, user_id=None)
        if rows:
            return min(row.id for row in rows)
        row = await queries.insert_project(conn, name=name, description="")
        await record_audit(conn, "project.create", actor_user_id=None, project_id=row.id)
        return row.id


async def update_project(
    pool: Pool,
    actor: Actor,
    project_id: int,
    *,
    name: str | None,
    description: str | None,
    archived: bool | None,
) -> ProjectOut:
    async with pool.acquire() as conn, conn.transaction():
        _, verbs = await authorize_project(conn, actor, project_id, "project.update")
        row = await queries.update_project(
            conn,
            project_id,
            name=_clean_name(name) if name is not None else None,
            description=description,
            archived=archived,
        )
        if row is None:
            raise Problem.not_found("project")
        await record_audit(conn, "project.update", actor_user_id=actor.user_id, project_id=project_id)
    return ProjectOut.of(row, verbs)


async def delete_project(pool: Pool, actor: Actor, project_id: int) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await authorize_project(conn, actor, project_id, "project.read")
        require(actor, ALL_VERBS if actor.is_admin else frozenset(), "project.create")
        await queries.soft_delete_project(conn, project_id)
        await record_audit(conn, "project.delete", actor_user_id=actor.user_id, project_id=project_id)


async def list_project_assignments(pool: Pool, actor: Actor, project_id: int) -> list[AssignmentOut]:
    async with pool.acquire() as conn:
        await authorize_project(conn, actor, project_id, "assignment.manage")
        return await queries.list_assignments(conn, project_id)


async def assign_role(
    pool: Pool, actor: Actor, project_id: int, *, user_id: int, role: Role, area_codes: list[str] | None
) -> None:
    if area_codes is not None and not all(code.isdigit() and len(code) <= 10 for code in area_codes):
        raise Problem.unexpected_value("areaCodes", "area codes are GSO district or commune codes (digits)")
    async with pool.acquire() as conn, conn.transaction():
        await authorize_project(conn, actor, project_id, "assignment.manage")
        if role == "manager" and not actor.is_admin:
            raise Problem.insufficient_rights()
        if not await queries.upsert_assignment(
            conn, project_id=project_id, user_id=user_id, role=role, area_codes=area_codes
        ):
            raise Problem.not_found("user")
        await record_audit(
            conn,
            "project.assignment.create",
            actor_user_id=actor.user_id,
            project_id=project_id,
            details={"userId": user_id, "role": role, "areaCodes": area_codes},
        )


async def unassign_role(pool: Pool, actor: Actor, project_id: int, *, user_id: int, role: Role) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await authorize_project(conn, actor, project_id, "assignment.manage")
        if role == "manager" and not actor.is_admin:
            raise Problem.insufficient_rights()
        if not await queries.delete_assignment(conn, project_id=project_id, user_id=user_id, role=role):
            raise Problem.not_found("assignment")
        await record_audit(
            conn,
            "project.assignment.delete",
            actor_user_id=actor.user_id,
            project_id=project_id,
            details={"userId": user_id, "role": role},
        )
