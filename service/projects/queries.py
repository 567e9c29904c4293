"""All SQL of the projects capability."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.db.rows import many, one, optional

from .models import AssignmentRow, ProjectRow, ProjectWithRoles

if TYPE_CHECKING:
    from service.db.pool import Connection

__all__ = [
    "delete_assignment",
    "get_project",
    "insert_project",
    "list_assignments",
    "list_projects",
    "lock_first_start",
    "project_with_roles",
    "soft_delete_project",
    "unknown_areas",
    "update_project",
    "upsert_assignment",
]

_COLUMNS = "id, name, description, archived, created_at, updated_at"
# The roles user $2 holds in project p (none for $2 null), as [{role, area_codes}].
_ROLES = """coalesce((select json_agg(json_build_object('role', a.role, 'area_codes', a.area_codes) order by a.role)
                      from project_assignments a where a.project_id = p.id and a.user_id = $2), '[]') as roles"""


async def get_project(conn: Connection, project_id: int) -> ProjectRow | None:
    row = await conn.fetchrow(f"select {_COLUMNS} from projects where id = $1 and deleted_at is null", project_id)
    return optional(row, ProjectRow)


async def project_with_roles(conn: Connection, project_id: int, user_id: int | None) -> ProjectWithRoles | None:
    row = await conn.fetchrow(
        f"select {_COLUMNS}, {_ROLES} from projects p where p.id = $1 and p.deleted_at is null", project_id, user_id
    )
    return optional(row, ProjectWithRoles)


async def list_projects(conn: Connection, *, user_id: int | None, every: bool) -> list[ProjectWithRoles]:
    """Live projects with user $2's roles: all of them when `every` (admins), else those where it has a role."""
    rows = await conn.fetch(
        f"""select {_COLUMNS}, {_ROLES} from projects p
        where deleted_at is null
          and ($1 or exists (select 1 from project_assignments a where a.project_id = p.id and a.user_id = $2))
        order by name, id""",
        every,
        user_id,
    )
    return many(rows, ProjectWithRoles)


async def lock_first_start(conn: Connection) -> None:
    """Serialise first-start set-up between processes starting together (until the transaction ends)."""
    await conn.execute("select pg_advisory_xact_lock(7305020232)")


async def insert_project(conn: Connection, *, name: str, description: str) -> ProjectRow:
    row = await conn.fetchrow(
        f"insert into projects (name, description) values ($1, $2) returning {_COLUMNS}", name, description
    )
    return one(row, ProjectRow)


async def update_project(
    conn: Connection, project_id: int, *, name: str | None, description: str | None, archived: bool | None
) -> ProjectRow | None:
    row = await conn.fetchrow(
        f"""update projects set name = coalesce($2, name), description = coalesce($3, description),
               archived = coalesce($4, archived), updated_at = now()
        where id = $1 and deleted_at is null returning {_COLUMNS}""",
        project_id,
        name,
        description,
        archived,
    )
    return optional(row, ProjectRow)


async def soft_delete_project(conn: Connection, project_id: int) -> bool:
    status = await conn.execute(
        "update projects set deleted_at = now() where id = $1 and deleted_at is null", project_id
    )
    return status.endswith(" 1")


async def list_assignments(conn: Connection, project_id: int) -> list[AssignmentRow]:
    rows = await conn.fetch(
        """select a.user_id as actor_id, u.email, u.display_name, a.role, a.area_codes, a.created_at
        from project_assignments a join users u on u.id = a.user_id
        where a.project_id = $1 and u.deleted_at is null order by a.role, u.email""",
        project_id,
    )
    return many(rows, AssignmentRow)


async def upsert_assignment(
    conn: Connection, *, project_id: int, user_id: int, role: str, area_codes: list[str] | None
) -> bool:
    """Create or update; False when the user does not exist."""
    status = await conn.execute(
        """insert into project_assignments (project_id, user_id, role, area_codes)
        select $1, u.id, $3, $4 from users u where u.id = $2 and u.deleted_at is null
        on conflict (project_id, user_id, role) do update set area_codes = excluded.area_codes""",
        project_id,
        user_id,
        role,
        area_codes,
    )
    return status.endswith(" 1")


async def unknown_areas(conn: Connection, codes: list[str]) -> list[str]:
    """Those of `codes` the areas table lacks — none while no areas are loaded (scope works on codes alone)."""
    unknown: list[str] = await conn.fetchval(
        """select coalesce(array_agg(c order by c), '{}') from unnest($1::text[]) c
        where exists (select 1 from areas) and not exists (select 1 from areas a where a.code = c)""",
        codes,
    )
    return unknown


async def delete_assignment(conn: Connection, *, project_id: int, user_id: int, role: str) -> bool:
    status = await conn.execute(
        "delete from project_assignments where project_id = $1 and user_id = $2 and role = $3",
        project_id,
        user_id,
        role,
    )
    return status.endswith(" 1")
