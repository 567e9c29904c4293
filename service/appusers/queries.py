"""All SQL of the app-users capability."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from service.db.rows import many, optional

from .models import AppUserRow

if TYPE_CHECKING:
    from service.db.pool import Connection

__all__ = [
    "assign_form",
    "get_app_user",
    "insert_app_user",
    "list_app_users",
    "revoke",
    "set_token",
    "unassign_form",
    "app_user_by_token_hash",
    "TokenHolder",
]

_SELECT = """select a.id, a.project_id, a.display_name, a.created_at, a.token_issued_at, a.revoked_at,
       coalesce(array(select f.xml_form_id from form_app_users fa join forms f on f.id = fa.form_id
                      where fa.app_user_id = a.id and f.deleted_at is null order by f.xml_form_id),
                '{}') as forms
from app_users a"""


async def list_app_users(conn: Connection, project_id: int) -> list[AppUserRow]:
    rows = await conn.fetch(f"{_SELECT} where a.project_id = $1 order by a.display_name, a.id", project_id)
    return many(rows, AppUserRow)


async def get_app_user(conn: Connection, project_id: int, app_user_id: int) -> AppUserRow | None:
    row = await conn.fetchrow(f"{_SELECT} where a.project_id = $1 and a.id = $2", project_id, app_user_id)
    return optional(row, AppUserRow)


async def insert_app_user(
    conn: Connection, *, project_id: int, display_name: str, token_hash: bytes, created_by: int | None
) -> int:
    app_user_id = await conn.fetchval(
        """insert into app_users (project_id, display_name, token_hash, token_issued_at, created_by)
        values ($1, $2, $3, now(), $4) returning id""",
        project_id,
        display_name,
        token_hash,
        created_by,
    )
    return int(app_user_id)


async def set_token(conn: Connection, app_user_id: int, token_hash: bytes) -> None:
    await conn.execute(
        "update app_users set token_hash = $2, token_issued_at = now() where id = $1 and revoked_at is null",
        app_user_id,
        token_hash,
    )


async def revoke(conn: Connection, project_id: int, app_user_id: int) -> bool:
    status = await conn.execute(
        "update app_users set token_hash = null, revoked_at = now() "
        "where project_id = $1 and id = $2 and revoked_at is null",
        project_id,
        app_user_id,
    )
    return status.endswith(" 1")


async def assign_form(conn: Connection, *, project_id: int, xml_form_id: str, app_user_id: int) -> bool:
    """Give access; False when the form or app user is not in the project."""
    status = await conn.execute(
        """insert into form_app_users (form_id, app_user_id)
        select f.id, a.id from forms f join app_users a on a.project_id = f.project_id
        where f.project_id = $1 and f.xml_form_id = $2 and f.deleted_at is null and a.id = $3
        on conflict do nothing""",
        project_id,
        xml_form_id,
        app_user_id,
    )
    if status.endswith(" 1"):
        return True
    exists = await conn.fetchval(
        """select 1 from forms f join app_users a on a.project_id = f.project_id
        where f.project_id = $1 and f.xml_form_id = $2 and f.deleted_at is null and a.id = $3""",
        project_id,
        xml_form_id,
        app_user_id,
    )
    return exists is not None


async def unassign_form(conn: Connection, *, project_id: int, xml_form_id: str, app_user_id: int) -> bool:
    status = await conn.execute(
        """delete from form_app_users fa using forms f
        where fa.form_id = f.id and f.project_id = $1 and f.xml_form_id = $2 and fa.app_user_id = $3""",
        project_id,
        xml_form_id,
        app_user_id,
    )
    return status.endswith(" 1")


class TokenHolder(msgspec.Struct, frozen=True):
    id: int
    project_id: int
    display_name: str
    token_hash: bytes


async def app_user_by_token_hash(conn: Connection, token_hash: bytes) -> TokenHolder | None:
    """The live app user holding this token (in a live project)."""
    row = await conn.fetchrow(
        """select a.id, a.project_id, a.display_name, a.token_hash from app_users a
        join projects p on p.id = a.project_id
        where a.token_hash = $1 and a.revoked_at is null and p.deleted_at is null""",
        token_hash,
    )
    return optional(row, TokenHolder)
