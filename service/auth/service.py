"""Accounts, sessions and who-may-do-what. Plain async functions; routes and the CLI call them.

Authorisation is verb-based, as in ODK Central: a role grants verbs in a project; an admin has every verb.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from typing import TYPE_CHECKING

import asyncpg

from service.audit import record_audit
from service.errors import Problem

from . import queries
from .models import ANONYMOUS, Actor, SessionOut
from .passwords import MIN_PASSWORD_LENGTH
from .tokens import hash_token, looks_like_token, new_token, tokens_match

if TYPE_CHECKING:
    from service.db.pool import Connection, Pool

    from .models import UserRow
    from .passwords import Passwords

__all__ = [
    "ALL_VERBS",
    "APP_USER_VERBS",
    "VERBS_BY_ROLE",
    "authenticate",
    "change_password",
    "check_password_strength",
    "create_user",
    "get_user",
    "list_users",
    "update_user",
    "login",
    "logout",
    "normalise_email",
    "project_verbs",
    "require",
]

log = logging.getLogger(__name__)

VERBS_BY_ROLE: dict[str, frozenset[str]] = {
    "manager": frozenset(
        {
            "project.read",
            "project.update",
            "form.list",
            "form.read",
            "form.create",
            "form.update",
            "form.delete",
            "submission.list",
            "submission.read",
            "submission.create",
            "submission.update",
            "submission.review",
            "app_user.manage",
            "assignment.manage",
            "export.read",
        }
    ),
    "supervisor": frozenset(
        {"project.read", "form.list", "form.read", "submission.list", "submission.read", "submission.review"}
    ),
    "enumerator": frozenset({"project.read", "form.list", "form.read", "submission.create"}),
}
# App users (Collect devices) see and fill only the open forms they are assigned to.
APP_USER_VERBS = frozenset({"form.list", "form.read", "submission.create"})
ALL_VERBS = frozenset().union(*VERBS_BY_ROLE.values(), {"project.create", "user.manage"})


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    local, _, domain = cleaned.partition("@")
    if not local or not domain or " " in cleaned or len(cleaned) > 320:
        raise Problem.unexpected_value("email", "it is not an email address")
    return cleaned


async def login(pool: Pool, passwords: Passwords, *, email: str, password: str, ttl_s: int) -> SessionOut:
    async with pool.acquire() as conn:
        user = await queries.user_by_email(conn, email.strip().lower())
    # Always verify (against a dummy hash when there is no such user) so timing does not reveal accounts.
    if not await passwords.verify(user.password_hash if user else None, password) or user is None:
        log.warning("login failed", extra={"email": email[:100]})
        raise Problem.authentication_failed()
    token, token_hash = new_token()
    csrf = secrets.token_urlsafe(32)
    new_hash = await passwords.hash(password) if passwords.needs_rehash(user.password_hash or "") else None
    async with pool.acquire() as conn, conn.transaction():
        created_at, expires_at = await queries.insert_session(
            conn, token_hash=token_hash, csrf_hash=hash_token(csrf), user_id=user.id, ttl_s=ttl_s
        )
        await queries.touch_last_login(conn, user.id)
        await queries.delete_expired_sessions(conn, user.id)
        if new_hash is not None:
            await queries.set_password_hash(conn, user.id, new_hash)
        await record_audit(conn, "user.session.create", actor_user_id=user.id)
    return SessionOut(token=token, csrf=csrf, created_at=created_at, expires_at=expires_at)


async def logout(pool: Pool, actor: Actor) -> None:
    if actor.session_id is None:
        raise Problem.not_found("session")
    async with pool.acquire() as conn:
        await queries.delete_session(conn, actor.session_id)


async def authenticate(
    pool: Pool,
    passwords: Passwords,
    authorization: str | None,
    *,
    is_https: bool,
    allow_basic_over_http: bool,
) -> Actor:
    """Resolve an Authorization header (Bearer session or Basic email:password) to an Actor."""
    if not authorization:
        return ANONYMOUS
    scheme, _, credentials = authorization.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "bearer":
        return await _bearer_actor(pool, credentials)
    if scheme == "basic":
        if not is_https and not allow_basic_over_http:
            raise Problem.https_only()
        return await _basic_actor(pool, passwords, credentials)
    raise Problem.authentication_failed()


async def _bearer_actor(pool: Pool, token: str) -> Actor:
    if not looks_like_token(token):
        raise Problem.authentication_failed()
    async with pool.acquire() as conn:
        found = await queries.find_session_user(conn, hash_token(token))
    if found is None or not tokens_match(found[1], token):
        raise Problem.authentication_failed()
    session_id, _, user = found
    return _user_actor(user, session_id)


async def _basic_actor(pool: Pool, passwords: Passwords, credentials: str) -> Actor:
    try:
        raw = base64.b64decode(credentials, validate=True)
    except (binascii.Error, ValueError):
        raise Problem.authentication_failed() from None
    # RFC 7617 says UTF-8; OkHttp (Collect) sends ISO-8859-1.
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("latin-1")
    email, sep, password = decoded.partition(":")
    if not sep:
        raise Problem.authentication_failed()
    async with pool.acquire() as conn:
        user = await queries.user_by_email(conn, email.strip().lower())
    if not await passwords.verify(user.password_hash if user else None, password) or user is None:
        raise Problem.authentication_failed()
    return _user_actor(user, None)


def _user_actor(user: UserRow, session_id: int | None) -> Actor:
    return Actor(
        kind="user",
        id=user.id,
        display_name=user.display_name or user.email,
        is_admin=user.is_admin,
        session_id=session_id,
    )


async def project_verbs(conn: Connection, actor: Actor, project_id: int) -> frozenset[str]:
    if actor.is_admin:
        return ALL_VERBS
    if actor.kind == "user" and actor.id is not None:
        roles = await queries.project_roles(conn, actor.id, project_id)
        return frozenset().union(*(VERBS_BY_ROLE[role] for role in roles))
    if actor.kind == "app_user" and actor.project_id == project_id:
        return APP_USER_VERBS
    return frozenset()


def require(actor: Actor, verbs: frozenset[str], verb: str) -> None:
    if verb in verbs:
        return
    if actor.kind == "anonymous":
        raise Problem.authentication_required()
    raise Problem.insufficient_rights()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Problem.password_too_short(MIN_PASSWORD_LENGTH)


async def create_user(
    pool: Pool,
    passwords: Passwords,
    *,
    email: str,
    password: str | None,
    display_name: str = "",
    is_admin: bool = False,
    created_by: int | None = None,
) -> UserRow:
    email = normalise_email(email)
    password_hash = None
    if password is not None:
        check_password_strength(password)
        password_hash = await passwords.hash(password)
    async with pool.acquire() as conn, conn.transaction():
        try:
            user = await queries.insert_user(
                conn, email=email, display_name=display_name, password_hash=password_hash, is_admin=is_admin
            )
        except asyncpg.UniqueViolationError:
            raise Problem.already_exists("email", email) from None
        await record_audit(
            conn, "user.create", actor_user_id=created_by, details={"userId": user.id, "admin": is_admin}
        )
    return user


async def get_user(pool: Pool, actor: Actor, user_id: int) -> UserRow:
    """A user record: anyone may read their own, admins anyone's."""
    if actor.user_id != user_id:
        require(actor, ALL_VERBS if actor.is_admin else frozenset(), "user.manage")
    async with pool.acquire() as conn:
        user = await queries.user_by_id(conn, user_id)
    if user is None:
        raise Problem.not_found("user")
    return user


async def list_users(pool: Pool, actor: Actor) -> list[UserRow]:
    require(actor, ALL_VERBS if actor.is_admin else frozenset(), "user.manage")
    async with pool.acquire() as conn:
        return await queries.list_users(conn)


async def update_user(
    pool: Pool, actor: Actor, user_id: int, *, email: str | None, display_name: str | None
) -> UserRow:
    if actor.user_id != user_id:
        require(actor, ALL_VERBS if actor.is_admin else frozenset(), "user.manage")
    cleaned = normalise_email(email) if email is not None else None
    async with pool.acquire() as conn, conn.transaction():
        try:
            user = await queries.update_user(conn, user_id, email=cleaned, display_name=display_name)
        except asyncpg.UniqueViolationError:
            raise Problem.already_exists("email", cleaned or "") from None
        if user is None:
            raise Problem.not_found("user")
        await record_audit(conn, "user.update", actor_user_id=actor.user_id, details={"userId": user_id})
    return user


async def change_password(pool: Pool, passwords: Passwords, *, user_id: int, old: str | None, new: str) -> None:
    """Set a new password; `old` must match unless None (an admin resetting someone else's)."""
    check_password_strength(new)
    async with pool.acquire() as conn:
        user = await queries.user_by_id(conn, user_id)
    if user is None:
        raise Problem.not_found("user")
    if old is not None and not await passwords.verify(user.password_hash, old):
        raise Problem.authentication_failed()
    new_hash = await passwords.hash(new)
    async with pool.acquire() as conn, conn.transaction():
        await queries.set_password_hash(conn, user_id, new_hash)
        await queries.delete_user_sessions(conn, user_id)
        await record_audit(conn, "user.password.change", actor_user_id=user_id)
