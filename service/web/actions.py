"""What the review pages' forms do. Each checks the form's CSRF token first (session.py), then calls the service
that decides (auth, review), and says where the browser goes next (POST → 303 → GET, so a reload repeats nothing).

    sign_in    the double-submitted sign-in token, then auth.service.login (its throttle and audit included)
    sign_out   auth.service.logout
    decide     review.decide, then on to the next household of the queue under the same filter
    comment    review.add_comment
    bulk       review.bulk_decide on the households ticked on the page, or on all the filter selects
    undo       review.undo_batch
    take_step  stages.step: a village meeting, a posting, the commune's recognition, sent back, re-reviewed
    bulk_step  stages.bulk_step on the households ticked on the queue page (a village meeting, a posting)

A step the household cannot take now is refused by the stages service (409.52); rendering.web_error turns it into a
page that says why in the reader's language, with a way back.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import msgspec

from service.auth import service as auth
from service.errors import Problem
from service.review import reading as review_reading
from service.review import service as review
from service.stages import service as stages
from service.stages.models import BulkStageIn, StageIn

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
    "BulkStageForm",
    "CommentForm",
    "DecisionForm",
    "StageForm",
    "bulk",
    "bulk_step",
    "comment",
    "decide",
    "sign_in",
    "sign_out",
    "take_step",
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


class StageForm(msgspec.Struct, frozen=True, kw_only=True):
    """A step form of the household page (or the queue's bulk step) as posted: every field a string, empty when
    left blank; `step` is the stage the step leads to (meeting, posted, recognised, re_review, surveyed)."""

    csrf: str | None = None
    step: str | None = None
    meeting_date: str | None = None
    agreement_percent: str | None = None
    attendees: str | None = None
    posted_from: str | None = None
    posted_until: str | None = None
    complaints: str | None = None
    decision_number: str | None = None
    decision_date: str | None = None
    final_classification: str | None = None
    note: str | None = None


class BulkStageForm(StageForm, frozen=True, kw_only=True):
    instances: list[str] = []


def _date(field: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Problem.unexpected_value(field, "a date is written YYYY-MM-DD") from None


def _whole(field: str, value: str | None) -> int | None:
    if not value or not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise Problem.unexpected_value(field, "a whole number") from None


def _percent(field: str, value: str | None) -> float | None:
    if not value or not value.strip():
        return None
    try:
        # A decimal comma is how Vietnamese write 66,7 %.
        return float(value.strip().replace(",", "."))
    except ValueError:
        raise Problem.unexpected_value(field, "a number") from None


def _step(form: StageForm) -> StageIn:
    """The stages service's input from the form's strings (it checks the facts; this only parses them)."""
    return StageIn(
        stage=form.step or "",
        meeting_date=_date("meetingDate", form.meeting_date),
        agreement_percent=_percent("agreementPercent", form.agreement_percent),
        attendees=_whole("attendees", form.attendees),
        posted_from=_date("postedFrom", form.posted_from),
        posted_until=_date("postedUntil", form.posted_until),
        complaints=_whole("complaints", form.complaints),
        decision_number=form.decision_number or None,
        decision_date=_date("decisionDate", form.decision_date),
        final_classification=form.final_classification or None,
        note=form.note or None,
    )


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


async def take_step(
    res: Resources,
    access: Access,
    session: WebSession,
    xml_form_id: str,
    instance_id: str,
    form: StageForm,
    query: QueueQuery,
) -> str:
    """One step for the household; back to its page, at the stages (which show where it is now)."""
    check_csrf(session, form.csrf)
    await stages.step(res, access, xml_form_id, instance_id, _step(form))
    return _with(household_url(access.project_id, xml_form_id, instance_id, query), stepped=1) + "#stages"


async def bulk_step(
    res: Resources,
    access: Access,
    session: WebSession,
    xml_form_id: str,
    form: BulkStageForm,
    query: QueueQuery,
) -> str:
    """One step for every household ticked on the queue page, all or nothing (the stages service's rule)."""
    check_csrf(session, form.csrf)
    back = queue_url(access.project_id, xml_form_id, query)
    if not form.instances:
        return _with(back, notice="none_selected")
    step = _step(form)
    taken = await stages.bulk_step(
        res, access, xml_form_id, BulkStageIn(**msgspec.structs.asdict(step), instance_ids=form.instances)
    )
    return _with(back, staged=taken.changed)
