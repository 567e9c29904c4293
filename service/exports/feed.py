"""The change feed: what happened to a form's households (new, edited, files, review decisions, comments, areas),
in commit order, behind an opaque cursor that never skips a change — for the sync to a central database and any
other reader that keeps a copy in step.

Why it never skips: every change row carries its transaction's id (xid8). The feed returns only changes of
transactions older than the oldest one still running (pg_snapshot_xmin), ordered by (txid, id); any transaction
that commits later has a txid at least that horizon, so it always sorts after a cursor already handed out.
A long-running transaction holds the feed back (never loses changes); docs/database.md says more.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.errors import Problem
from service.forms.access import authorized_form
from service.structs import Output

from . import queries

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.resources import Resources

__all__ = ["ChangeOut", "FeedOut", "decode_cursor", "encode_cursor", "read_feed"]

MAX_FEED_PAGE = 5000


class ChangeOut(Output, kw_only=True):
    cursor: str
    kind: str
    instance_id: str
    changed_at: datetime
    actor_id: int | None
    details: dict[str, Any] | None


class FeedOut(Output, kw_only=True):
    changes: list[ChangeOut]
    # Where to continue from (the last change returned, or the one asked for when nothing is new).
    cursor: str | None


def encode_cursor(txid: str, change_id: int) -> str:
    return base64.urlsafe_b64encode(f"{txid}.{change_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    refused = Problem.unexpected_value("since", "it is not a cursor this server gave out")
    try:
        txid, _, change_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(".")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    if not txid.isdigit() or not change_id.isdigit() or len(txid) > 20 or len(change_id) > 18:
        raise refused
    return txid, int(change_id)


async def read_feed(res: Resources, access: Access, xml_form_id: str, *, since: str | None, limit: int) -> FeedOut:
    if not 1 <= limit <= MAX_FEED_PAGE:
        raise Problem.unexpected_value("limit", f"limit is 1 to {MAX_FEED_PAGE}")
    after = decode_cursor(since) if since else None
    scope = access.scope("export.read")
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "export.read")
        rows = await queries.changes_after(conn, scope, form.id, after, limit)
    changes = [
        ChangeOut(
            cursor=encode_cursor(row.txid, row.id),
            kind=row.kind,
            instance_id=row.instance_id,
            changed_at=row.changed_at,
            actor_id=row.actor_id,
            details=row.details,
        )
        for row in rows
    ]
    return FeedOut(changes=changes, cursor=changes[-1].cursor if changes else since)
