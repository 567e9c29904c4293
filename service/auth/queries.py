"""All SQL of the auth capability."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from service.db.rows import many, one, optional

from .models import UserRow

if TYPE_CHECKING:
    from datetime import datetime

    from service.db.pool import Connection

__all__ = [
    "deactivate_user",
    "delete_expired_sessions",
    "delete_session",
    "delete_user_sessions",
    "SessionUser",
    "find_session_user",
    "insert_session",
    "insert_user",
    "list_users",
    "make_admin",
    "set_password_hash",
    "touch_last_login",
    "update_user",
    "user_by_email",
    "user_by_id",
    "count_admins",
    "FailureCount",
    "clear_sign_in_failures",
    "count_sign_in_failure",
    "sign_in_failures",
]

_USER_COLUMNS = "id, email, display_name, password_hash, is_admin, created_at, updated_at, last_login_at"


async def user_by_email(conn: Connection, email: str) -> UserRow | None:
    row = await conn.fetchrow(f"select {_USER_COLUMNS} from users where email = $1 and deleted_at is null", email)
    return optional(row, UserRow)


async def user_by_id(conn: Connection, user_id: int) -> UserRow | None:
    row = await conn.fetchrow(f"select {_USER_COLUMNS} from users where id = $1 and deleted_at is null", user_id)
    return optional(row, UserRow)


async def list_users(conn: Connection) -> list[UserRow]:
    rows = await conn.fetch(f"select {_USER_COLUMNS} from users where deleted_at is null order by email")
    return many(rows, UserRow)


async def count_admins(conn: Connection) -> int:
    return int(await conn.fetchval("select count(*) from users where is_admin and deleted_at is null"))


async def insert_user(
    conn: Connection, *, email: str, display_name: str, password_hash: str | None, is_admin: bool
) -> UserRow:
    row = await conn.fetchrow(
        f"""insert into users (email, display_name, password_hash, is_admin) values ($1, $2, $3, $4)
        returning {_USER_COLUMNS}""",
        email,
        display_name,
        password_hash,
        is_admin,
    )
    return one(row, UserRow)


async def update_user(conn: Connection, user_id: int, *, email: str | None, display_name: str | None) -> UserRow | None:
    row = await conn.fetchrow(
        f"""update users set email = coalesce($2, email), display_name = coalesce($3, display_name),
               updated_at = now()
        where id = $1 and deleted_at is null returning {_USER_COLUMNS}""",
        user_id,
        email,
        display_name,
    )
    return optional(row, UserRow)


async def deactivate_user(conn: Connection, user_id: int) -> UserRow | None:
    row = await conn.fetchrow(
        f"""update users set deleted_at = now(), updated_at = now()
        where id = $1 and deleted_at is null returning {_USER_COLUMNS}""",
        user_id,
    )
    return optional(row, UserRow)


async def make_admin(conn: Connection, user_id: int) -> None:
    await conn.execute("update users set is_admin = true, updated_at = now() where id = $1", user_id)


async def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    await conn.execute("update users set password_hash = $2, updated_at = now() where id = $1", user_id, password_hash)


async def touch_last_login(conn: Connection, user_id: int) -> None:
    await conn.execute("update users set last_login_at = now() where id = $1", user_id)


async def insert_session(
    conn: Connection, *, token_hash: bytes, csrf_hash: bytes, user_id: int, ttl_s: int
) -> tuple[datetime, datetime]:
    row = await conn.fetchrow(
        """insert into sessions (token_hash, csrf_hash, user_id, expires_at)
        values ($1, $2, $3, now() + make_interval(secs => $4)) returning created_at, expires_at""",
        token_hash,
        csrf_hash,
        user_id,
        float(ttl_s),
    )
    assert row is not None
    return row["created_at"], row["expires_at"]


class SessionUser(msgspec.Struct, frozen=True):
    session_id: int
    token_hash: bytes
    user: UserRow


async def find_session_user(conn: Connection, token_hash: bytes) -> SessionUser | None:
    """The live session with this token hash and its user, or None (expired sessions do not count)."""
    row = await conn.fetchrow(
        """select s.id as session_id, s.token_hash,
               json_build_object('id', u.id, 'email', u.email, 'display_name', u.display_name,
                                 'password_hash', u.password_hash, 'is_admin', u.is_admin,
                                 'created_at', u.created_at, 'updated_at', u.updated_at,
                                 'last_login_at', u.last_login_at) as user
        from sessions s join users u on u.id = s.user_id
        where s.token_hash = $1 and s.expires_at > now() and u.deleted_at is null""",
        token_hash,
    )
    return optional(row, SessionUser)


async def delete_session(conn: Connection, session_id: int) -> None:
    await conn.execute("delete from sessions where id = $1", session_id)


async def delete_expired_sessions(conn: Connection, user_id: int) -> None:
    await conn.execute("delete from sessions where user_id = $1 and expires_at < now()", user_id)


async def delete_user_sessions(conn: Connection, user_id: int) -> None:
    await conn.execute("delete from sessions where user_id = $1", user_id)


class FailureCount(msgspec.Struct, frozen=True):
    key: str
    failures: int
    retry_after_s: int


async def sign_in_failures(conn: Connection, keys: list[str], *, window_s: int) -> list[FailureCount]:
    """Failures counted in the current window of each key, and the seconds until that window ends."""
    rows = await conn.fetch(
        """select key, failures,
               ceil(extract(epoch from window_started_at + make_interval(secs => $2) - now()))::int as retry_after_s
        from sign_in_failures
        where key = any($1::text[]) and window_started_at > now() - make_interval(secs => $2)""",
        keys,
        float(window_s),
    )
    return many(rows, FailureCount)


async def count_sign_in_failure(conn: Connection, keys: list[str], *, window_s: int) -> None:
    await conn.execute(
        """insert into sign_in_failures (key, failures, window_started_at, last_failed_at)
        select k, 1, now(), now() from unnest($1::text[]) as k
        on conflict (key) do update set
            failures = case when sign_in_failures.window_started_at > now() - make_interval(secs => $2)
                            then sign_in_failures.failures + 1 else 1 end,
            window_started_at = case when sign_in_failures.window_started_at > now() - make_interval(secs => $2)
                                     then sign_in_failures.window_started_at else now() end,
            last_failed_at = now()""",
        sorted(set(keys)),
        float(window_s),
    )


async def clear_sign_in_failures(conn: Connection, keys: list[str], *, window_s: int) -> None:
    """Forget these keys, and every key whose window is long over (cheap, and keeps the table small)."""
    await conn.execute(
        """delete from sign_in_failures
        where key = any($1::text[]) or window_started_at < now() - make_interval(secs => $2 * 2)""",
        keys,
        float(window_s),
    )
