"""Structs of the review capability."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from service.classification import Classification
from service.stages.models import Stage
from service.structs import Input, Output
from service.submissions.models import CheckCountsOut

__all__ = [
    "DECIDABLE",
    "REVIEW_STATES",
    "BulkIn",
    "BulkOut",
    "CommentIn",
    "CommentOut",
    "CommentRow",
    "Decision",
    "DiffOut",
    "QueueFilter",
    "QueueItemOut",
    "QueueOut",
    "QueueSort",
    "ReasonOut",
    "ReasonRow",
    "ReviewIn",
    "QUEUE_SORTS",
    "ReviewState",
    "UndoOut",
]

ReviewState = Literal["hasIssues", "edited", "approved", "rejected"]
REVIEW_STATES: tuple[ReviewState, ...] = ("hasIssues", "edited", "approved", "rejected")
# What a reviewer may set; `edited` is the server's (a new version arrived), as in Central.
Decision = Literal["hasIssues", "approved", "rejected"]
DECIDABLE: frozenset[str] = frozenset({"hasIssues", "approved", "rejected"})
# The queue's orders: the longest-waiting household first (the default), or the riskiest first by its photo
# evidence (households not checked yet come last).
QueueSort = Literal["oldest", "risk"]
QUEUE_SORTS: tuple[QueueSort, ...] = ("oldest", "risk")


class ReviewIn(Input, kw_only=True):
    """Central's PATCH body, plus why: a reason code from the project's list and free text."""

    review_state: str | None
    reason: str | None = None
    note: str | None = None


class ReasonRow(msgspec.Struct, frozen=True):
    code: str
    label: str
    label_en: str
    applies_to: list[str]


class ReasonOut(Output, kw_only=True):
    code: str
    label: str
    label_en: str
    applies_to: list[str]


class CommentIn(Input, kw_only=True):
    body: str


class CommentRow(msgspec.Struct, frozen=True):
    body: str
    actor_id: int
    actor_name: str
    created_at: datetime


class CommentOut(Output, kw_only=True):
    """Central's comment (body, actorId, createdAt), with the author's name for people reading it."""

    body: str
    actor_id: int
    actor_name: str
    created_at: datetime


class DiffOut(Output, kw_only=True):
    """One changed answer between a version and the one before it (Central's …/diffs entry)."""

    new: Any
    old: Any
    path: list[str | int]


class QueueFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which households a queue page or a bulk action covers (always within the caller's scope), and in which order:
    a bulk action limited to N households takes the first N the queue shows."""

    xml_form_id: str
    states: list[str] | None = None  # "received" stands for no decision yet
    # The legal stages (service/stages): surveyed, meeting, re_review, posted, recognised.
    stages: list[str] | None = None
    sort: str = "oldest"
    area: str | None = None
    submitter_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    # Answer equal to a value: field path (/data/g_loc/commune) → value.
    answers: dict[str, str] = {}
    # The server's classification (service/classification), and whether the phone's provisional one disagrees.
    classification: str | None = None
    mismatch: bool | None = None


class QueueItemOut(Output, kw_only=True):
    instance_id: str
    instance_name: str | None
    review_state: ReviewState | None
    stage: Stage
    submitter_id: int | None
    submitter_name: str | None
    district_code: str | None
    commune_code: str | None
    village_code: str | None
    attachments_expected: int
    attachments_present: int
    latitude: float | None
    longitude: float | None
    accuracy: float | None
    created_at: datetime
    reviewed_at: datetime | None
    # The server's classification, the phone's provisional one and whether they differ (null: not classified).
    classification: str | None = None
    provisional_classification: str | None = None
    classification_mismatch: bool | None = None
    classification_detail: Classification | None = None
    # Photo evidence: 0-100, null until the household was first checked; its checks counted by severity.
    risk_score: int | None
    checks: CheckCountsOut


class QueueOut(Output, kw_only=True):
    items: list[QueueItemOut]
    # Households per state across the whole filtered queue (not only this page); "received": no decision yet.
    counts: dict[str, int]
    next_cursor: str | None


class BulkIn(Input, kw_only=True):
    review_state: str
    reason: str | None = None
    note: str | None = None
    # The households: listed by instanceID, or everything the filter selects (up to `limit`).
    instance_ids: list[str] | None = None
    state: list[str] | None = None
    stage: list[str] | None = None
    area: str | None = None
    submitter_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    classification: str | None = None
    mismatch: bool | None = None
    # With a filter and a limit: the first households in this order (as the queue shows them).
    sort: str = "oldest"
    limit: int = 1000


class BulkOut(Output, kw_only=True):
    batch_id: str
    changed: int


class UndoOut(Output, kw_only=True):
    restored: int
    # Households decided on again since the batch keep that later decision.
    kept: int
