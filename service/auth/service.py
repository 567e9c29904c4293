"""Accounts and sessions: sign-in, the Authorization header → Actor, and user management.

Plain async functions taking `Resources` first; routes and the CLI call them. What an actor may do in a project
is decided in auth/access.py.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from typing import TYPE_CHECKING

from service.audits import record_audit
from service.errors import Problem

from . import queries, throttle
from .access import require_admin
from .models import ANONYMOUS, Actor, SessionOut
from .passwords import MIN_PASSWORD_LENGTH
from .tokens import hash_token, looks_like_token, new_token, tokens_match

if TYPE_CHECKING:
    from service.resources import Resources

    from .models import UserRow

__all__ = [
    "authenticate",
    "change_password",
    "check_password_strength",
    "create_user",
    "deactivate_user",
    "get_user",
    "list_users",
    "login",
    "logout",
    "normalise_email",
    "update_user",
]

log = logging.getLogger(__name__)


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    local, _, domain = cleaned.partition("@")
    if not local or not domain or " " in cleaned or len(cleaned) > 320:
        raise Problem.unexpected_value("email", "it is not an email address")
    return cleaned


async def _verified_user(res: Resources, email: str, password: str, *, client: str, method: str) -> UserRow:
    """The account whose password this is, after the throttle allows trying; every failure is counted and logged."""
    keys = throttle.SignInKeys(email, client)
    async with res.pool.acquire() as conn:
        await throttle.check(conn, res.settings, keys)
        user = await queries.user_by_email(conn, email.strip().lower())
    # Always verify (against a dummy hash when there is no such user) so timing does not reveal accounts.
    if not await res.passwords.verify(user.password_hash if user else None, password) or user is None:
        log.warning("sign-in failed", extra={"email": email[:100], "client": client, "method": method})
        async with res.pool.acquire() as conn, conn.transaction():
            await throttle.failed(conn, res.settings, keys)
            await record_audit(
                conn,
                "user.signin.failure",
                actor_user_id=None,
                details={"email": email[:320], "address": client, "method": method},
            )
        raise Problem.authentication_failed()
    async with res.pool.acquire() as conn:
        await throttle.succeeded(conn, res.settings, keys)
    return user


async def login(res: Resources, *, email: str, password: str, client: str = "unknown") -> SessionOut:
    user = await _verified_user(res, email, password, client=client, method="session")
    token, token_hash = new_token()
    csrf = secrets.token_urlsafe(32)
    passwords = res.passwords
    new_hash = await passwords.hash(password) if passwords.needs_rehash(user.password_hash or "") else None
    async with res.pool.acquire() as conn, conn.transaction():
        created_at, expires_at = await queries.insert_session(
            conn, token_hash=token_hash, csrf_hash=hash_token(csrf), user_id=user.id, ttl_s=res.settings.session_ttl_s
        )
        await queries.touch_last_login(conn, user.id)
        await queries.delete_expired_sessions(conn, user.id)
        if new_hash is not None:
            await queries.set_password_hash(conn, user.id, new_hash)
        await record_audit(conn, "user.session.create", actor_user_id=user.id, details={"address": client})
    return SessionOut(token=token, csrf=csrf, created_at=created_at, expires_at=expires_at)


async def logout(res: Resources, actor: Actor) -> None:
    if actor.session_id is None:
        raise Problem.not_found("session")
    async with res.pool.acquire() as conn:
        await queries.delete_session(conn, actor.session_id)


async def authenticate(res: Resources, authorization: str | None, *, is_https: bool, client: str = "unknown") -> Actor:
    """Resolve an Authorization header (Bearer session or Basic email:password) to an Actor."""
    if not authorization:
        return ANONYMOUS
    scheme, _, credentials = authorization.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "bearer":
        return await _bearer_actor(res, credentials)
    if scheme == "basic":
        if not is_https and not res.settings.allow_basic_over_http:
            raise Problem.https_only()
        return await _basic_actor(res, credentials, client)
    raise Problem.authentication_failed()


async def _bearer_actor(res: Resources, token: str) -> Actor:
    if not looks_like_token(token):
        raise Problem.authentication_failed()
    async with res.pool.acquire() as conn:
        found = await queries.find_session_user(conn, hash_token(token))
    if found is None or not tokens_match(found.token_hash, token):
        raise Problem.authentication_failed()
    return _user_actor(found.user, found.session_id)


async def _basic_actor(res: Resources, credentials: str, client: str) -> Actor:
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
    return _user_actor(await _verified_user(res, email, password, client=client, method="basic"), None)


def _user_actor(user: UserRow, session_id: int | None) -> Actor:
    return Actor(
        kind="user",
        id=user.id,
        display_name=user.display_name or user.email,
        is_admin=user.is_admin,
        session_id=session_id,
    )


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Problem.password_too_short(MIN_PASSWORD_LENGTH)


async def create_user(
    res: Resources,
    actor: Actor,
    *,
    email: str,
    password: str | None,
    display_name: str = "",
    is_admin: bool = False,
) -> UserRow:
    """A new account (admins only). An email already in use is 409.3, translated at the database boundary."""
    require_admin(actor)
    email = normalise_email(email)
    password_hash = None
    if password is not None:
        check_password_strength(password)
        password_hash = await res.passwords.hash(password)
    async with res.pool.acquire() as conn, conn.transaction():
        user = await queries.insert_user(
            conn, email=email, display_name=display_name, password_hash=password_hash, is_admin=is_admin
        )
        await record_audit(
            conn, "user.create", actor_user_id=actor.user_id, details={"userId": user.id, "admin": is_admin}
        )
    return user


async def get_user(res: Resources, actor: Actor, user_id: int) -> UserRow:
    """A user record: anyone may read their own, admins anyone's."""
    if actor.user_id is None or actor.user_id != user_id:
        require_admin(actor)
    async with res.pool.acquire() as conn:
        user = await queries.user_by_id(conn, user_id)
    if user is None:
        raise Problem.not_found("user")
    return user


async def list_users(res: Resources, actor: Actor) -> list[UserRow]:
    require_admin(actor)
    async with res.pool.acquire() as conn:
        return await queries.list_users(conn)


async def update_user(
    res: Resources, actor: Actor, user_id: int, *, email: str | None, display_name: str | None
) -> UserRow:
    if actor.user_id is None or actor.user_id != user_id:
        require_admin(actor)
    cleaned = normalise_email(email) if email is not None else None
    async with res.pool.acquire() as conn, conn.transaction():
        user = await queries.update_user(conn, user_id, email=cleaned, display_name=display_name)
        if user is None:
            raise Problem.not_found("user")
        await record_audit(conn, "user.update", actor_user_id=actor.user_id, details={"userId": user_id})
    return user


async def change_password(res: Resources, actor: Actor, *, user_id: int, old: str | None, new: str) -> None:
    """Set a new password. Users change their own with the old one; an administrator may reset anyone else's
    without it. Either way every session of that account ends."""
    resetting = actor.user_id is None or actor.user_id != user_id
    if resetting:
        require_admin(actor)
    elif old is None:
        raise Problem.old_password_required()
    check_password_strength(new)
    async with res.pool.acquire() as conn:
        user = await queries.user_by_id(conn, user_id)
    if user is None:
        raise Problem.not_found("user")
    if old is not None and not await res.passwords.verify(user.password_hash, old):
        raise Problem.authentication_failed()
    new_hash = await res.passwords.hash(new)
    async with res.pool.acquire() as conn, conn.transaction():
        await queries.set_password_hash(conn, user_id, new_hash)
        await queries.delete_user_sessions(conn, user_id)
        action = "user.password.reset" if resetting else "user.password.change"
        await record_audit(conn, action, actor_user_id=actor.user_id, details={"userId": user_id})


async def deactivate_user(res: Resources, actor: Actor, user_id: int) -> None:
    """An account that can no longer sign in (Central's DELETE /users/{id}): its sessions end at once, its email
    may be used again, and what it did stays attributed to it. The last administrator cannot be removed."""
    require_admin(actor)
    async with res.pool.acquire() as conn, conn.transaction():
        user = await queries.deactivate_user(conn, user_id)
        if user is None:
            raise Problem.not_found("user")
        if user.is_admin and await queries.count_admins(conn) == 0:
            raise Problem.last_admin()
        await queries.delete_user_sessions(conn, user_id)
        await record_audit(conn, "user.delete", actor_user_id=actor.user_id, details={"userId": user_id})
