"""The household page's legal stages (Decision 24/2021/QĐ-TTg): where the household is, every step so far with who
took it and its facts, and which step forms the reader may use now (service/stages decides; this only shows).

    surveyed    → the village meeting (submission.stage)
    meeting     → the public posting, or send back to re-review (submission.stage)
    posted      → the commune's recognition (submission.recognise: managers), or send back (submission.stage)
    re_review   → re-reviewed, nothing to change (submission.stage); a phone's edit does it too
    recognised  → nothing: final for this round
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from service.stages import service as stages
from service.stages.models import CLASSIFICATIONS, STAGES

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.resources import Resources
    from service.stages.models import StageEventOut

    from .i18n import Translator

__all__ = [
    "NEXT_STEPS",
    "STAGE_NAMES",
    "STEP_TITLES",
    "ClassificationOption",
    "StageEventView",
    "StageFormView",
    "StagesView",
    "StepView",
    "allowed_steps",
    "stages_view",
]

# Every stage, in the order of the way (the queue's stage filter lists them so).
STAGE_NAMES: tuple[str, ...] = STAGES
# What each step is called on its form and button (and in the queue's bulk step).
STEP_TITLES = {
    "meeting": "stage.step_meeting",
    "posted": "stage.step_posted",
    "recognised": "stage.step_recognised",
    "re_review": "stage.step_re_review",
    "surveyed": "stage.step_surveyed",
}
# Which steps follow each stage, and the verb each needs (as service/stages/service.py checks them).
NEXT_STEPS: dict[str, tuple[tuple[str, str], ...]] = {
    "surveyed": (("meeting", "submission.stage"),),
    "meeting": (("posted", "submission.stage"), ("re_review", "submission.stage")),
    "posted": (("recognised", "submission.recognise"), ("re_review", "submission.stage")),
    "re_review": (("surveyed", "submission.stage"),),
    "recognised": (),
}


class StageEventView(msgspec.Struct, frozen=True, kw_only=True):
    """One step as the history shows it; the facts the step carries, already written for the reader."""

    from_stage: str
    to_stage: str
    by: str
    at: str
    meeting_date: str | None = None
    agreement: str | None = None
    attendees: int | None = None
    posted_from: str | None = None
    posted_until: str | None = None
    complaints: int | None = None
    decision_number: str | None = None
    decision_date: str | None = None
    classification: str | None = None
    note: str | None = None
    in_batch: bool = False


class ClassificationOption(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    label: str


class StepView(msgspec.Struct, frozen=True, kw_only=True):
    # The stage the step leads to (the form's `step`), and what the step is called.
    step: str
    title: str


class StageFormView(msgspec.Struct, frozen=True, kw_only=True):
    """The step forms the reader may use now: where they post, the steps, today's date (no date in the future)."""

    url: str
    steps: list[StepView]
    today: str
    classifications: list[ClassificationOption]


class StagesView(msgspec.Struct, frozen=True, kw_only=True):
    stage: str
    # The stage is `posted` and the reader may send it back but not record the commune's decision (managers do).
    recognition_by_others: bool
    changed_at: str | None
    final_classification: str | None
    # Newest first.
    history: list[StageEventView]
    form: StageFormView | None


def _percent(value: float | None, t: Translator) -> str | None:
    """80 % rather than 80,0 %; 66,7 % when the meeting's share was not whole."""
    if value is None:
        return None
    return t.number(value, 0 if float(value).is_integer() else 1)


def _event(event: StageEventOut, t: Translator) -> StageEventView:
    return StageEventView(
        from_stage=event.from_stage,
        to_stage=event.to_stage,
        by=event.actor_name or "",
        at=t.when(event.created_at),
        meeting_date=t.day(event.meeting_date) or None,
        agreement=_percent(event.agreement_percent, t),
        attendees=event.attendees,
        posted_from=t.day(event.posted_from) or None,
        posted_until=t.day(event.posted_until) or None,
        complaints=event.complaints,
        decision_number=event.decision_number,
        decision_date=t.day(event.decision_date) or None,
        classification=t(f"class.{event.final_classification}") if event.final_classification else None,
        note=event.note,
        in_batch=event.batch_id is not None,
    )


def allowed_steps(access: Access, stage: str) -> list[str]:
    return [step for step, verb in NEXT_STEPS.get(stage, ()) if access.allows(verb)]


async def stages_view(
    res: Resources, access: Access, xml_form_id: str, instance_id: str, *, form_url: str, t: Translator
) -> StagesView:
    """`form_url`: where the step forms post (the household's …/stages on the review site)."""
    found = await stages.stages_of(res, access, xml_form_id, instance_id)
    steps = allowed_steps(access, found.stage)
    form = None
    if steps:
        form = StageFormView(
            url=form_url,
            steps=[StepView(step=step, title=t(STEP_TITLES[step])) for step in steps],
            today=res.settings.local_today().isoformat(),
            classifications=[ClassificationOption(code=c, label=t(f"class.{c}")) for c in CLASSIFICATIONS],
        )
    return StagesView(
        stage=found.stage,
        recognition_by_others=found.stage == "posted" and not access.allows("submission.recognise"),
        changed_at=t.when(found.stage_changed_at) if found.stage_changed_at else None,
        final_classification=t(f"class.{found.final_classification}") if found.final_classification else None,
        # The step just taken is what the reader looks for.
        history=[_event(event, t) for event in reversed(found.history)],
        form=form,
    )
