"""Structs of the review stages (Decision 24/2021/QĐ-TTg): what a step carries in, what a household's stages
look like out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import msgspec

from service.structs import Input, Output

__all__ = [
    "CLASSIFICATIONS",
    "STAGES",
    "BulkStageIn",
    "BulkStageOut",
    "Classification",
    "Stage",
    "StageEventOut",
    "StageEventRow",
    "StageIn",
    "StageOut",
    "StageStep",
    "StagedHousehold",
]

Stage = Literal["surveyed", "meeting", "re_review", "posted", "recognised"]
STAGES: tuple[Stage, ...] = ("surveyed", "meeting", "re_review", "posted", "recognised")
# Decree 07/2021 Art. 3: poor, near-poor, average living standard; "other": above the average band.
Classification = Literal["poor", "near_poor", "average", "other"]
CLASSIFICATIONS: tuple[Classification, ...] = ("poor", "near_poor", "average", "other")


class StageIn(Input, kw_only=True):
    """One step for one household. `stage` is the step taken: `meeting` (the village meeting's result; under 50 %
    agreement sends the household to `re_review`), `posted`, `recognised`, `re_review` (sent back by hand, e.g. a
    complaint upheld) or `surveyed` (re-reviewed without changes)."""

    stage: str
    meeting_date: date | None = None
    agreement_percent: float | None = None
    attendees: int | None = None
    posted_from: date | None = None
    posted_until: date | None = None
    complaints: int | None = None
    decision_number: str | None = None
    decision_date: date | None = None
    final_classification: str | None = None
    note: str | None = None


class BulkStageIn(StageIn, kw_only=True):
    """The same step for many households (a village's meeting, a commune's posting or decision). Per household,
    `agreements` (instanceID → %) and `classifications` (instanceID → class) override the shared values. All or
    nothing: when one household cannot take the step, none does, and the answer lists why."""

    instance_ids: list[str]
    agreements: dict[str, float] = msgspec.field(default_factory=dict)
    classifications: dict[str, str] = msgspec.field(default_factory=dict)


class StageStep(msgspec.Struct, frozen=True, kw_only=True):
    """A checked step, ready to be written (what the service decided, per household)."""

    to_stage: Stage
    meeting_date: date | None = None
    agreement_percent: float | None = None
    attendees: int | None = None
    posted_from: date | None = None
    posted_until: date | None = None
    complaints: int | None = None
    decision_number: str | None = None
    decision_date: date | None = None
    final_classification: Classification | None = None
    note: str | None = None


class StagedHousehold(msgspec.Struct, frozen=True):
    """A household as a step sees it (locked), with the dates of its latest meeting and posting."""

    id: int
    instance_id: str
    current_version_id: int
    stage: Stage
    review_state: str | None
    created_at: datetime
    last_meeting_date: date | None
    last_posted_until: date | None


class StageEventRow(msgspec.Struct, frozen=True):
    from_stage: Stage
    to_stage: Stage
    actor_id: int | None
    actor_name: str | None
    batch_id: str | None
    meeting_date: date | None
    agreement_percent: float | None
    attendees: int | None
    posted_from: date | None
    posted_until: date | None
    complaints: int | None
    decision_number: str | None
    decision_date: date | None
    final_classification: Classification | None
    note: str | None
    created_at: datetime


class StageEventOut(Output, kw_only=True):
    from_stage: Stage
    to_stage: Stage
    actor_id: int | None
    actor_name: str | None
    batch_id: str | None
    meeting_date: date | None
    agreement_percent: float | None
    attendees: int | None
    posted_from: date | None
    posted_until: date | None
    complaints: int | None
    decision_number: str | None
    decision_date: date | None
    final_classification: Classification | None
    note: str | None
    created_at: datetime


class StageOut(Output, kw_only=True):
    instance_id: str
    stage: Stage
    stage_changed_at: datetime | None
    final_classification: Classification | None
    history: list[StageEventOut]


class BulkStageOut(Output, kw_only=True):
    batch_id: str
    changed: int
    # Where the households went (a meeting sends some to `meeting`, others to `re_review`).
    stages: dict[str, int]
