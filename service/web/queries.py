"""SQL of the review site: the browser session behind a cookie (the `sessions` rows that sign-in creates)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from service.db.rows import optional

if TYPE_CHECKING:
    from service.db.pool import Connection

__all__ = ["WebSessionRow", "web_session"]


class WebSessionRow(msgspec.Struct, frozen=True):
    session_id: int
    token_hash: bytes
    csrf_hash: bytes
    user_id: int
    email: str
    display_name: str
    is_admin: bool


async def web_session(conn: Connection, token_hash: bytes) -> WebSessionRow | None:
    """The live session with this token hash, its CSRF token's hash and its user (expired ones do not count)."""
    row = await conn.fetchrow(
        """select s.id as session_id, s.token_hash, s.csrf_hash, u.id as user_id, u.email, u.display_name,
               u.is_admin
        from sessions s join users u on u.id = s.user_id
        where s.token_hash = $1 and s.expires_at > now() and u.deleted_at is null""",
        token_hash,
    )
    return optional(row, WebSessionRow)
