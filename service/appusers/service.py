"""App-user operations and token resolution for the `/v1/key/{token}/…` URLs Collect is configured with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.audits import record_audit
from service.auth.models import Actor
from service.auth.tokens import hash_token, looks_like_token, new_token, tokens_match
from service.errors import Problem

from . import queries
from .models import AppUserOut, IssuedToken
from .qr import collect_settings_payload

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.db.pool import Connection
    from service.resources import Resources

    from .models import AppUserRow

__all__ = [
    "actor_for_token",
    "assign_form",
    "create_app_user",
    "list_app_users",
    "reissue_token",
    "revoke_app_user",
    "server_url_for",
    "unassign_form",
]


def server_url_for(origin: str, token: str, project_id: int) -> str:
    return f"{origin}/v1/key/{token}/projects/{project_id}"


def _issued(res: Resources, access: Access, token: str, row: AppUserRow | None) -> AppUserOut:
    assert row is not None
    url = server_url_for(res.settings.origin, token, access.project_id)
    payload = collect_settings_payload(url, access.project.name)
    return AppUserOut.of(row, IssuedToken(token=token, server_url=url, qr_payload=payload))


async def list_app_users(res: Resources, access: Access) -> list[AppUserOut]:
    access.require("app_user.manage")
    async with res.pool.acquire() as conn:
        return [AppUserOut.of(row) for row in await queries.list_app_users(conn, access.project_id)]


async def create_app_user(res: Resources, access: Access, *, display_name: str, forms: list[str]) -> AppUserOut:
    access.require("app_user.manage")
    name = " ".join(display_name.split())
    if not 1 <= len(name) <= 200:
        raise Problem.unexpected_value("displayName", "a name has 1 to 200 characters")
    token, token_hash = new_token()
    project_id, actor = access.project_id, access.actor
    async with res.pool.acquire() as conn, conn.transaction():
        app_user_id = await queries.insert_app_user(
            conn, project_id=project_id, display_name=name, token_hash=token_hash, created_by=actor.user_id
        )
        for xml_form_id in forms:
            if not await queries.assign_form(
                conn, project_id=project_id, xml_form_id=xml_form_id, app_user_id=app_user_id
            ):
                raise Problem.not_found(f"form {xml_form_id!r}")
        await record_audit(
            conn,
            "app_user.create",
            actor_user_id=actor.user_id,
            project_id=project_id,
            details={"appUserId": app_user_id},
        )
        row = await queries.get_app_user(conn, project_id, app_user_id)
    return _issued(res, access, token, row)


async def reissue_token(res: Resources, access: Access, app_user_id: int) -> AppUserOut:
    """A new token (and QR code) for the app user; the old one stops working at once."""
    access.require("app_user.manage")
    token, token_hash = new_token()
    project_id, actor = access.project_id, access.actor
    async with res.pool.acquire() as conn, conn.transaction():
        existing = await queries.get_app_user(conn, project_id, app_user_id)
        if existing is None:
            raise Problem.not_found("app user")
        if existing.revoked_at is not None:
            # Revoking is for a lost or stolen phone: a new token must never quietly undo it.
            raise Problem.app_user_revoked()
        await queries.set_token(conn, app_user_id, token_hash)
        await record_audit(
            conn,
            "app_user.token.reissue",
            actor_user_id=actor.user_id,
            project_id=project_id,
            details={"appUserId": app_user_id},
        )
        row = await queries.get_app_user(conn, project_id, app_user_id)
    return _issued(res, access, token, row)


async def revoke_app_user(res: Resources, access: Access, app_user_id: int) -> None:
    access.require("app_user.manage")
    project_id, actor = access.project_id, access.actor
    async with res.pool.acquire() as conn, conn.transaction():
        if not await queries.revoke(conn, project_id, app_user_id):
            raise Problem.not_found("app user")
        await record_audit(
            conn,
            "app_user.revoke",
            actor_user_id=actor.user_id,
            project_id=project_id,
            details={"appUserId": app_user_id},
        )


async def assign_form(res: Resources, access: Access, xml_form_id: str, app_user_id: int) -> None:
    access.require("app_user.manage")
    async with res.pool.acquire() as conn, conn.transaction():
        if not await queries.assign_form(
            conn, project_id=access.project_id, xml_form_id=xml_form_id, app_user_id=app_user_id
        ):
            raise Problem.not_found("form or app user")


async def unassign_form(res: Resources, access: Access, xml_form_id: str, app_user_id: int) -> None:
    access.require("app_user.manage")
    async with res.pool.acquire() as conn, conn.transaction():
        if not await queries.unassign_form(
            conn, project_id=access.project_id, xml_form_id=xml_form_id, app_user_id=app_user_id
        ):
            raise Problem.not_found("assignment")


async def actor_for_token(conn: Connection, token: str) -> Actor:
    """Resolve a URL token. Malformed → 401; well-formed but unknown or revoked → 403, as Central answers,
    so Collect reports "no access" instead of asking the enumerator for a password that does not exist."""
    if not looks_like_token(token):
        raise Problem.authentication_failed()
    found = await queries.app_user_by_token_hash(conn, hash_token(token))
    if found is None or not tokens_match(found.token_hash, token):
        raise Problem.insufficient_rights()
    return Actor(kind="app_user", id=found.id, display_name=found.display_name, project_id=found.project_id)
