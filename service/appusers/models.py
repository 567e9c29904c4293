"""Structs of the app-users capability."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from service.structs import Input, Output

__all__ = ["AppUserCreateIn", "AppUserOut", "AppUserRow", "IssuedToken"]


class AppUserRow(msgspec.Struct, frozen=True):
    id: int
    project_id: int
    display_name: str
    created_at: datetime
    token_issued_at: datetime | None
    revoked_at: datetime | None
    forms: list[str]


class IssuedToken(Output, kw_only=True):
    """Shown once: the token is stored hashed, so this is the only time it (and its QR code) can be seen."""

    token: str
    server_url: str
    qr_payload: str


class AppUserOut(Output, kw_only=True):
    id: int
    type: Literal["field_key"] = "field_key"
    project_id: int
    display_name: str
    created_at: datetime
    token_issued_at: datetime | None
    revoked_at: datetime | None
    forms: list[str]
    # Present only in the answer that issued a token.
    token: str | None = None
    server_url: str | None = None
    qr_payload: str | None = None

    @classmethod
    def of(cls, row: AppUserRow, issued: IssuedToken | None = None) -> AppUserOut:
        shown = cls.from_row(row)
        if issued is None:
            return shown
        return msgspec.structs.replace(
            shown, token=issued.token, server_url=issued.server_url, qr_payload=issued.qr_payload
        )


class AppUserCreateIn(Input, kw_only=True):
    display_name: str
    # xmlFormIds to give access to at once; Central needs one assignment call per form.
    forms: list[str] = msgspec.field(default_factory=list)
