"""The legal stages of the review (Decision 24/2021/QĐ-TTg), one household or many at a time.

    step         from               requires                                                   to
    meeting      surveyed           meetingDate (not in the future), agreementPercent 0-100,   meeting if agreement
                                    attendees (optional)                                       ≥ 50 %, else re_review
    posted       meeting            postedFrom on or after the meeting, postedUntil on or      posted
                                    after postedFrom, complaints ≥ 0 (with a note when > 0)
    recognised   posted             the evidence approved (reviewState approved), a            recognised
                                    decisionNumber, decisionDate on or after postedUntil and
                                    not in the future, a finalClassification
    re_review    meeting, posted    a note (why: a complaint upheld, an error found)           re_review
    surveyed     re_review          a note (re-reviewed, nothing to change). An edit sent by   surveyed
                                    the phone does this by itself (ingest)
    any step     recognised         —                                                          409.52: final for
                                                                                               this round
    a step from any other stage                                                                409.52

Who: `submission.stage` (supervisors and managers, in their areas) records meetings, postings and sends back;
`submission.recognise` (managers) records the commune's decision. A household outside the caller's areas is 404,
as if it did not exist. Every step is a row of its own (kept), a change for the feed and the central copy, and an
audit entry. Many households take one step together (a village's meeting, a commune's decision) all or nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date  # noqa: TC003 - msgspec reads _Refusal's annotations at run time
from typing import TYPE_CHECKING

import msgspec

from service.audits import record_audit
from service.errors import Problem
from service.forms.access import authorized_form
from service.submissions import queries as submission_queries

from . import queries
from .models import CLASSIFICATIONS, BulkStageOut, StageEventOut, StageOut, StageStep

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.resources import Resources

    from .models import BulkStageIn, Classification, StagedHousehold, StageIn

__all__ = ["MAX_BULK_STEP", "PASSING_AGREEMENT", "bulk_step", "stages_of", "step"]

MAX_BULK_STEP = 5000
# Decision 24/2021 Art. 4: a household's result stands when at least half of the village meeting agrees.
PASSING_AGREEMENT = 50.0
_FROM: dict[str, frozenset[str]] = {
    "meeting": frozenset({"surveyed"}),
    "posted": frozenset({"meeting"}),
    "recognised": frozenset({"posted"}),
    "re_review": frozenset({"meeting", "posted"}),
    "surveyed": frozenset({"re_review"}),
}


def _note(note: str | None, *, required: bool) -> str | None:
    cleaned = note.strip() if note else None
    if required and not cleaned:
        raise Problem.missing_parameter("note")
    if cleaned is not None and len(cleaned) > 4000:
        raise Problem.unexpected_value("note", "a note has at most 4000 characters")
    return cleaned or None


def _checked(data: StageIn, today: date) -> StageStep:
    """The step's own facts, checked before any household is looked at (the same for every household)."""
    if data.stage not in _FROM:
        raise Problem.unexpected_value("stage", f"a step is one of {', '.join(sorted(_FROM))}")
    if data.stage == "meeting":
        return _meeting(data, today)
    if data.stage == "posted":
        return _posting(data)
    if data.stage == "recognised":
        return _recognition(data, today)
    return StageStep(
        to_stage="re_review" if data.stage == "re_review" else "surveyed", note=_note(data.note, required=True)
    )


def _meeting(data: StageIn, today: date) -> StageStep:
    if data.meeting_date is None:
        raise Problem.missing_parameter("meetingDate")
    if data.meeting_date > today:
        raise Problem.unexpected_value("meetingDate", "a meeting cannot be in the future")
    if data.attendees is not None and not 1 <= data.attendees <= 100_000:
        raise Problem.unexpected_value("attendees", "attendees is a number from 1")
    return StageStep(
        to_stage="meeting",
        meeting_date=data.meeting_date,
        agreement_percent=data.agreement_percent,
        attendees=data.attendees,
        note=_note(data.note, required=False),
    )


def _posting(data: StageIn) -> StageStep:
    if data.posted_from is None or data.posted_until is None:
        raise Problem.missing_parameter("postedFrom" if data.posted_from is None else "postedUntil")
    if data.posted_until < data.posted_from:
        raise Problem.unexpected_value("postedUntil", "the posting cannot end before it starts")
    if data.complaints is None or not 0 <= data.complaints <= 100_000:
        raise Problem.unexpected_value("complaints", "the number of complaints received (0 when none)")
    return StageStep(
        to_stage="posted",
        posted_from=data.posted_from,
        posted_until=data.posted_until,
        complaints=data.complaints,
        note=_note(data.note, required=data.complaints > 0),
    )


def _recognition(data: StageIn, today: date) -> StageStep:
    number = (data.decision_number or "").strip()
    if not number:
        raise Problem.missing_parameter("decisionNumber")
    if len(number) > 100:
        raise Problem.unexpected_value("decisionNumber", "a decision number has at most 100 characters")
    if data.decision_date is None:
        raise Problem.missing_parameter("decisionDate")
    if data.decision_date > today:
        raise Problem.unexpected_value("decisionDate", "a decision cannot be dated in the future")
    return StageStep(
        to_stage="recognised",
        decision_number=number,
        decision_date=data.decision_date,
        final_classification=_classification(data.final_classification),
        note=_note(data.note, required=False),
    )


def _classification(value: str | None, field: str = "finalClassification") -> Classification | None:
    if value is None:
        return None
    if value not in CLASSIFICATIONS:
        raise Problem.unexpected_value(field, f"a classification is one of {', '.join(CLASSIFICATIONS)}")
    return value


def _agreement(value: float | None, field: str = "agreementPercent") -> float:
    if value is None:
        raise Problem.missing_parameter(field)
    if not 0 <= value <= 100:
        raise Problem.unexpected_value(field, "an agreement is a percentage from 0 to 100")
    return round(value, 2)


class _Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """Why a household cannot take a step: `reason` for programs and translated pages (final, wrong_stage,
    before_meeting, not_approved, before_posting), `why` in words, and the date it clashed with, if any."""

    reason: str
    why: str
    date: date | None = None

    def detail(self, household: StagedHousehold) -> dict[str, str]:
        found = {"instanceId": household.instance_id, "stage": household.stage, "why": self.why, "reason": self.reason}
        if self.date is not None:
            found["date"] = self.date.isoformat()
        return found


def _for_household(
    household: StagedHousehold, step: StageStep, agreement: float | None, classification: str | None
) -> StageStep | _Refusal:
    """The step as this household takes it, or why it cannot."""
    if household.stage not in _FROM[step.to_stage]:
        if household.stage == "recognised":
            return _Refusal(reason="final", why="recognised by the commune: final for this round")
        follows = " or ".join(sorted(_FROM[step.to_stage]))
        return _Refusal(reason="wrong_stage", why=f"is {household.stage}; {step.to_stage} follows {follows}")
    if step.to_stage == "meeting":
        percent = _agreement(agreement)
        outcome = "meeting" if percent >= PASSING_AGREEMENT else "re_review"
        return msgspec.structs.replace(step, to_stage=outcome, agreement_percent=percent)
    if step.to_stage == "posted":
        assert step.posted_from is not None
        meeting = household.last_meeting_date
        if meeting is not None and step.posted_from < meeting:
            why = f"posted from {step.posted_from}, before its meeting of {meeting}"
            return _Refusal(reason="before_meeting", why=why, date=meeting)
    if step.to_stage == "recognised":
        assert step.decision_date is not None
        if household.review_state != "approved":
            return _Refusal(
                reason="not_approved", why="its evidence is not approved yet (reviewState approved comes first)"
            )
        posted_until = household.last_posted_until
        if posted_until is not None and step.decision_date < posted_until:
            why = f"decided on {step.decision_date}, before its posting ended on {posted_until}"
            return _Refusal(reason="before_posting", why=why, date=posted_until)
        final = _classification(classification) if classification is not None else step.final_classification
        if final is None:
            raise Problem.missing_parameter("finalClassification")
        return msgspec.structs.replace(step, final_classification=final)
    return step


def _verb(step: StageStep) -> str:
    return "submission.recognise" if step.to_stage == "recognised" else "submission.stage"


async def step(res: Resources, access: Access, xml_form_id: str, instance_id: str, data: StageIn) -> StageOut:
    """One step for one household; returns its stages as they are now."""
    checked = _checked(data, res.settings.local_today())
    verb = _verb(checked)
    scope = access.scope(verb)
    async with res.pool.acquire() as conn, conn.transaction():
        form = await authorized_form(conn, access, xml_form_id, verb)
        locked = await queries.lock_households(conn, scope, form.id, [instance_id])
        if not locked:
            raise Problem.not_found("submission")
        household = locked[0]
        taken = _for_household(household, checked, data.agreement_percent, data.final_classification)
        if isinstance(taken, _Refusal):
            raise Problem.stage_not_allowed([taken.detail(household)])
        await queries.record_steps(conn, scope, form.id, [(household, taken)], actor_user_id=access.actor.user_id)
        await record_audit(
            conn,
            "submission.stage",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            form_id=form.id,
            details={"instanceId": instance_id, "from": household.stage, "stage": taken.to_stage},
        )
    return await stages_of(res, access, xml_form_id, instance_id)


async def bulk_step(res: Resources, access: Access, xml_form_id: str, data: BulkStageIn) -> BulkStageOut:
    """The same step for many households, all or nothing (409.52 lists every household that cannot take it)."""
    checked = _checked(data, res.settings.local_today())
    instance_ids = list(dict.fromkeys(data.instance_ids))
    if not 1 <= len(instance_ids) <= MAX_BULK_STEP:
        raise Problem.unexpected_value("instanceIds", f"a step covers 1 to {MAX_BULK_STEP} households")
    for instance_id, percent in data.agreements.items():
        _agreement(percent, f"agreements[{instance_id}]")
    for instance_id, value in data.classifications.items():
        _classification(value, f"classifications[{instance_id}]")
    verb = _verb(checked)
    scope = access.scope(verb)
    batch = uuid.uuid4()
    async with res.pool.acquire() as conn, conn.transaction():
        form = await authorized_form(conn, access, xml_form_id, verb)
        households = await queries.lock_households(conn, scope, form.id, instance_ids)
        if len(households) < len(instance_ids):
            found = {h.instance_id for h in households}
            missing = [i for i in instance_ids if i not in found]
            raise Problem.unexpected_value(
                "instanceIds", f"{len(missing)} not found in your areas, e.g. {', '.join(missing[:5])}"
            )
        steps, refused = [], []
        for household in households:
            taken = _for_household(
                household,
                checked,
                data.agreements.get(household.instance_id, data.agreement_percent),
                data.classifications.get(household.instance_id, data.final_classification),
            )
            if isinstance(taken, _Refusal):
                refused.append(taken.detail(household))
            else:
                steps.append((household, taken))
        if refused:
            raise Problem.stage_not_allowed(refused)
        await queries.record_steps(conn, scope, form.id, steps, actor_user_id=access.actor.user_id, batch_id=batch)
        outcomes: Counter[str] = Counter(taken.to_stage for _, taken in steps)
        await record_audit(
            conn,
            "submission.stage.bulk",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            form_id=form.id,
            details={"batchId": str(batch), "step": data.stage, "stages": dict(outcomes), "households": len(steps)},
        )
    return BulkStageOut(batch_id=str(batch), changed=len(steps), stages=dict(outcomes))


async def stages_of(res: Resources, access: Access, xml_form_id: str, instance_id: str) -> StageOut:
    scope = access.scope("submission.read")
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "submission.read")
        row = await submission_queries.get_submission(conn, scope, form.id, instance_id)
        if row is None:
            raise Problem.not_found("submission")
        history = await queries.history(conn, scope, row.id)
    return StageOut(
        instance_id=instance_id,
        stage=row.stage,
        stage_changed_at=row.stage_changed_at,
        final_classification=row.final_classification,
        history=[StageEventOut.from_row(event) for event in history],
    )
