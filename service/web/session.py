"""The browser's session: one cookie, set at sign-in, that authenticates the review pages and nothing else.

    cookie     `__Host-review_session` over HTTPS (Secure, Path=/, no Domain), `review_session` over plain HTTP;
               HttpOnly, SameSite=Lax, Max-Age = the session's lifetime. Its value is "<session token>.<CSRF token>":
               both are the ones `auth.service.login` issues, and the sessions row keeps only their SHA-256.
    pages      put the CSRF token in a hidden field of every form they render
    form POST  the field must hash to the session's csrf_hash (compared in constant time), else 403
    sign-in    has no session yet, so its form is protected by a double-submitted random token instead (a second
               cookie, `review_sign_in`, and the same value in the form): a site elsewhere can neither read the
               cookie nor set it, so it cannot sign a browser in to an account of its choosing

The /v1 API never reads this cookie: its callers authenticate with an Authorization header (Bearer or Basic),
which a browser never attaches on its own, so the JSON endpoints (which take no CSRF token) cannot be driven from
another site with a reviewer's cookie.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING

import msgspec

from service.auth.models import ANONYMOUS, Actor
from service.auth.tokens import hash_token, looks_like_token, tokens_match
from service.errors import Problem

from . import queries

if TYPE_CHECKING:
    from service.resources import Resources

__all__ = [
    "SESSION_COOKIE",
    "SIGNED_OUT",
    "SIGN_IN_COOKIE",
    "WebSession",
    "check_csrf",
    "check_sign_in_token",
    "cookie_name",
    "new_sign_in_token",
    "session_cookie_value",
    "session_from_cookie",
]

SESSION_COOKIE = "review_session"
SIGN_IN_COOKIE = "review_sign_in"


def cookie_name(base: str, *, secure: bool) -> str:
    """`__Host-` cookies are only accepted when Secure, for Path=/ and without Domain: nothing else on the host, or
    on a sibling subdomain, can set or shadow them."""
    return f"__Host-{base}" if secure else base


class WebSession(msgspec.Struct, frozen=True):
    actor: Actor
    # The token every form of the pages carries, and the hash it must match (None: signed out).
    csrf: str | None = None
    csrf_hash: bytes | None = None

    @property
    def signed_in(self) -> bool:
        return self.actor.kind == "user"


SIGNED_OUT = WebSession(actor=ANONYMOUS)


def session_cookie_value(token: str, csrf: str) -> str:
    return f"{token}.{csrf}"


async def session_from_cookie(res: Resources, value: str | None) -> WebSession:
    """The signed-in user behind a session cookie; anything missing, malformed, expired or tampered is signed out."""
    if not value:
        return SIGNED_OUT
    token, separator, csrf = value.partition(".")
    if not separator or not looks_like_token(token) or not looks_like_token(csrf):
        return SIGNED_OUT
    async with res.pool.acquire() as conn:
        row = await queries.web_session(conn, hash_token(token))
    if row is None or not tokens_match(row.token_hash, token) or not tokens_match(row.csrf_hash, csrf):
        return SIGNED_OUT
    actor = Actor(
        kind="user",
        id=row.user_id,
        display_name=row.display_name or row.email,
        is_admin=row.is_admin,
        session_id=row.session_id,
    )
    return WebSession(actor=actor, csrf=csrf, csrf_hash=row.csrf_hash)


def check_csrf(session: WebSession, submitted: str | None) -> None:
    """Every form POST of a signed-in page: 401 when signed out, 403 unless the token is this session's."""
    if session.csrf_hash is None:
        raise Problem.authentication_required()
    if not submitted or not looks_like_token(submitted) or not tokens_match(session.csrf_hash, submitted):
        raise Problem.insufficient_rights()


def new_sign_in_token() -> str:
    return secrets.token_urlsafe(32)


def check_sign_in_token(cookie: str | None, submitted: str | None) -> None:
    """The sign-in form's double-submitted token: the form's field must equal the cookie (constant time)."""
    if not cookie or not submitted or not looks_like_token(cookie):
        raise Problem.insufficient_rights()
    if not hmac.compare_digest(cookie.encode(), submitted.encode()):
        raise Problem.insufficient_rights()
