"""What the review pages' forms do. Each checks the form's CSRF token first (session.py), then calls the service
that decides (auth, review), and says where the browser goes next (POST → 303 → GET, so a reload repeats nothing).

    sign_in    the double-submitted sign-in token, then auth.service.login (its throttle and audit included)
    sign_out   auth.service.logout
    decide     review.decide, then on to the next household of the queue under the same filter
    comment    review.add_comment
    bulk       review.bulk_decide on the households ticked on the page, or on all the filter selects
    undo       review.undo_batch
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

import msgspec

from service.auth import service as auth
from service.review import reading as review_reading
from service.review import service as review

from .models import QUEUE_STATES
from .service import household_url, queue_url
from .session import check_csrf, check_sign_in_token, session_cookie_value

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from service.auth.access import Access
    from service.resources import Resources

    from .models import QueueQuery
    from .session import WebSession

__all__ = [
    "BulkForm",
    "CommentForm",
    "DecisionForm",
    "bulk",
    "comment",
    "decide",
    "sign_in",
    "sign_out",
    "undo",
]


class DecisionForm(msgspec.Struct, frozen=True, kw_only=True):
    csrf: str | None = None
    decision: str | None = None
    reason: str | None = None
    note: str | None = None


class CommentForm(msgspec.Struct, frozen=True, kw_only=True):
    csrf: str | None = None
    body: str = ""


class BulkForm(msgspec.Struct, frozen=True, kw_only=True):
    csrf: str | None = None
    decision: str | None = None
    reason: str | None = None
    note: str | None = None
    # "selected": the households ticked on the page; "filter": everything the queue's filter selects.
    which: str = "selected"
    instances: list[str] = []


async def sign_in(
    res: Resources, *, email: str, password: str, token: str | None, cookie_token: str | None, client: str
) -> str:
    """The new session's cookie value; a wrong password is 401, too many of them 429 (auth's throttle)."""
    check_sign_in_token(cookie_token, token)
    session = await auth.login(res, email=email, password=password, client=client)
    return session_cookie_value(session.token, session.csrf)


async def sign_out(res: Resources, session: WebSession, token: str | None) -> None:
    check_csrf(session, token)
    await auth.logout(res, session.actor)


def _with(url: str, **values: object) -> str:
    return url + ("&" if "?" in url else "?") + urlencode({k: str(v) for k, v in values.items()})


async def decide(
    res: Resources,
    access: Access,
    session: WebSession,
    xml_form_id: str,
    instance_id: str,
    form: DecisionForm,
    query: QueueQuery,
    zone: ZoneInfo,
) -> str:
    check_csrf(session, form.csrf)
    await review.decide(
        res,
        access,
        xml_form_id,
        instance_id,
        state=form.decision or None,
        reason=form.reason or None,
        note=form.note,
    )
    following = await review_reading.next_in_queue(res, access, query.to_filter(xml_form_id, zone), instance_id)
    target = (
        household_url(access.project_id, xml_form_id, following, query)
        if following
        else queue_url(access.project_id, xml_form_id, query)
    )
    return _with(target, decided=instance_id)


async def comment(
    res: Resources,
    access: Access,
    session: WebSession,
    xml_form_id: str,
    instance_id: str,
    form: CommentForm,
    query: QueueQuery,
) -> str:
    check_csrf(session, form.csrf)
    await review.add_comment(res, access, xml_form_id, instance_id, form.body)
    return _with(household_url(access.project_id, xml_form_id, instance_id, query), commented=1) + "#comments"


async def bulk(
    res: Resources,
    access: Access,
    session: WebSession,
    xml_form_id: str,
    form: BulkForm,
    query: QueueQuery,
    zone: ZoneInfo,
) -> str:
    check_csrf(session, form.csrf)
    back = queue_url(access.project_id, xml_form_id, query)
    selected = form.which != "filter"
    if selected and not form.instances:
        return _with(back, notice="none_selected")
    state = form.decision or ""
    batch, changed = await review.bulk_decide(
        res,
        access,
        query.to_filter(xml_form_id, zone),
        instance_ids=form.instances if selected else None,
        state=state,
        reason=form.reason or None,
        note=form.note,
        limit=min(len(form.instances), review.MAX_BULK) if selected else review.MAX_BULK,
    )
    return _with(back, batch=batch, changed=changed, to=state if state in QUEUE_STATES else "")


async def undo(
    res: Resources,
    access: Access,
    session: WebSession,
    xml_form_id: str,
    batch_id: str,
    token: str | None,
    query: QueueQuery,
) -> str:
    check_csrf(session, token)
    restored, kept = await review.undo_batch(res, access, batch_id)
    return _with(queue_url(access.project_id, xml_form_id, query), restored=restored, kept=kept)
