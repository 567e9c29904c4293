"""Structs of the auth capability: who is calling (Actor), accounts and sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from service.structs import Input, Output

__all__ = [
    "ANONYMOUS",
    "SYSTEM",
    "ROLES",
    "Actor",
    "LoginIn",
    "PasswordChangeIn",
    "Role",
    "SessionOut",
    "UserCreateIn",
    "UserOut",
    "UserRow",
    "UserUpdateIn",
]

Role = Literal["manager", "supervisor", "viewer", "enumerator"]
ROLES: tuple[Role, ...] = ("manager", "supervisor", "viewer", "enumerator")


class Actor(msgspec.Struct, frozen=True):
    """The authenticated caller of one request."""

    kind: Literal["anonymous", "user", "app_user"]
    id: int | None = None
    display_name: str = ""
    is_admin: bool = False
    # App users belong to exactly one project.
    project_id: int | None = None
    session_id: int | None = None

    @property
    def user_id(self) -> int | None:
        return self.id if self.kind == "user" else None


ANONYMOUS = Actor(kind="anonymous")
# The server itself (start-up set-up, CLI commands run by the operator): an admin without an account.
SYSTEM = Actor(kind="user", id=None, display_name="system", is_admin=True)


class UserRow(msgspec.Struct, frozen=True):
    id: int
    email: str
    display_name: str
    password_hash: str | None
    is_admin: bool
    created_at: datetime
    updated_at: datetime | None
    last_login_at: datetime | None


class UserOut(Output, kw_only=True):
    id: int
    type: Literal["user"] = "user"
    email: str
    display_name: str
    is_admin: bool
    created_at: datetime
    updated_at: datetime | None
    last_login_at: datetime | None


class LoginIn(Input):
    email: str
    password: str


class SessionOut(Output):
    token: str
    csrf: str
    created_at: datetime
    expires_at: datetime


class UserCreateIn(Input, kw_only=True):
    email: str
    password: str | None = None
    display_name: str = ""
    is_admin: bool = False


class UserUpdateIn(Input, kw_only=True):
    display_name: str | None = None
    email: str | None = None


class PasswordChangeIn(Input, kw_only=True):
    # Required when changing one's own password; an administrator resetting someone else's may leave it out.
    old: str | None = None
    new: str
