"""View models of the review pages: what each template shows, already in the reader's language and time zone.

Templates only lay these out; the service (web/service.py) builds them from the review, submissions, forms and areas
services. Optional parts (photo evidence, the legal stages, an exit plan) are None when the household has none or the
reader may not see them, and the templates render their blocks only when they are set. The stages' and the plan's
views live beside their builders (stage_views.py, plan_views.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import msgspec

from service.review.models import QueueFilter

from .plan_views import PlanView
from .stage_views import StagesView

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = [
    "QUEUE_STATES",
    "AnswerView",
    "AreaOption",
    "BatchView",
    "CheckView",
    "ChoiceOption",
    "CommentView",
    "DecisionView",
    "DiffView",
    "EvidenceView",
    "Flash",
    "FormLink",
    "HomeView",
    "HouseholdLink",
    "HouseholdView",
    "LocationView",
    "MapPoint",
    "PhotoView",
    "ProjectLink",
    "QueueItemView",
    "QueueQuery",
    "QueueView",
    "ReasonView",
    "RiskView",
    "StateCount",
    "SummaryRowView",
    "SummaryView",
]

QUEUE_STATES = ("received", "hasIssues", "edited", "approved", "rejected")


class QueueQuery(msgspec.Struct, frozen=True, kw_only=True):
    """The queue's filters as the pages carry them in their URLs (and in the bulk form's hidden fields)."""

    state: str | None = None
    # Legal stages (any of them); empty: every stage.
    stage: tuple[str, ...] = ()
    district: str | None = None
    commune: str | None = None
    since: date | None = None
    until: date | None = None
    submitter: int | None = None
    # None: oldest first; "risk": riskiest first.
    sort: str | None = None

    def to_filter(self, xml_form_id: str, zone: ZoneInfo) -> QueueFilter:
        """Dates are whole days in the office's time zone, both ends included."""

        def start_of(day: date) -> datetime:
            return datetime.combine(day, time(), zone).astimezone(UTC)

        return QueueFilter(
            xml_form_id=xml_form_id,
            states=[self.state] if self.state else None,
            stages=list(self.stage) or None,
            sort=self.sort or "oldest",
            area=self.commune or self.district,
            submitter_id=self.submitter,
            since=start_of(self.since) if self.since else None,
            until=start_of(self.until + timedelta(days=1)) if self.until else None,
        )

    def pairs(self, **changes: object) -> list[tuple[str, str]]:
        """(name, value) for every filter set; a repeatable one (stage) once per value."""
        values = {**msgspec.structs.asdict(self), **changes}
        found = []
        for key, value in values.items():
            for one in value if isinstance(value, tuple) else (value,):
                if one not in (None, ""):
                    found.append((key, str(one)))
        return found

    def query(self, **changes: object) -> str:
        """`?state=…&commune=…` for links that keep the filter (empty when there is none)."""
        pairs = self.pairs(**changes)
        return f"?{urlencode(pairs)}" if pairs else ""


class Flash(msgspec.Struct, frozen=True, kw_only=True):
    """What the action before this page did, carried in the query of the redirect after it (shown once, escaped
    like everything else). A decision is named by the household's instanceID only: the page reads its name and state
    back (within the reader's scope), so a link cannot make the page claim something that did not happen."""

    decided: str | None = None
    commented: bool = False
    batch: str | None = None
    changed: int | None = None
    to: str | None = None
    restored: int | None = None
    kept: int | None = None
    notice: str | None = None
    # A step of the legal stages was taken on this household (the page shows the stage it is at now), or on this
    # many households of the queue at once.
    stepped: bool = False
    staged: int | None = None


class ProjectLink(msgspec.Struct, frozen=True):
    id: int
    name: str
    forms: list[FormLink]


class FormLink(msgspec.Struct, frozen=True):
    xml_form_id: str
    name: str
    queue_url: str
    summary_url: str
    progress_url: str = ""


class HomeView(msgspec.Struct, frozen=True):
    projects: list[ProjectLink]


class AreaOption(msgspec.Struct, frozen=True):
    code: str
    name: str
    parent_code: str | None = None


class StateCount(msgspec.Struct, frozen=True):
    state: str
    households: int
    url: str
    current: bool


class ReasonView(msgspec.Struct, frozen=True):
    code: str
    label: str
    # Which decisions may give it: hasIssues, rejected (and approved).
    applies_to: list[str]


class QueueItemView(msgspec.Struct, frozen=True, kw_only=True):
    instance_id: str
    title: str
    state: str
    stage: str
    area: str
    submitted_at: str
    submitter: str
    photos_present: int
    photos_expected: int
    url: str
    # Photo evidence: the risk score and its band (low, medium, high) once checked, and the checks by severity.
    risk: RiskView | None = None


class RiskView(msgspec.Struct, frozen=True, kw_only=True):
    """A household's risk score as a badge: its band colours it, the counts say what is behind it."""

    score: int
    # low (no warning), medium, high (at least a risk-level check's weight)
    level: str
    warn: int
    risk: int


class ChoiceOption(msgspec.Struct, frozen=True, kw_only=True):
    """One option of a filter that may take several values (checkboxes)."""

    value: str
    checked: bool


class BatchView(msgspec.Struct, frozen=True):
    """A bulk decision just made, shown above the queue with its undo button."""

    batch_id: str
    state: str
    changed: int
    undo_url: str


class QueueView(msgspec.Struct, frozen=True, kw_only=True):
    project_id: int
    xml_form_id: str
    form_name: str
    forms: list[FormLink]
    query: QueueQuery
    # The queue without any filter (the filter form posts here), and with the filter but every state.
    base_url: str
    all_url: str
    counts: list[StateCount]
    total: int
    matching: int
    items: list[QueueItemView]
    more_url: str | None
    districts: list[AreaOption]
    communes: list[AreaOption]
    submitters: list[AreaOption]
    reasons: list[ReasonView]
    can_review: bool
    bulk_url: str
    summary_url: str
    max_bulk: int
    batch: BatchView | None = None
    notice: str | None = None
    # The legal stages as filter checkboxes, the order ("oldest" or "risk"), and the queue in each order.
    stages: list[ChoiceOption] = []
    sort: str = "oldest"
    oldest_url: str = ""
    risk_url: str = ""
    # The bulk step of the legal stages (village meeting, posting) for the households ticked, when allowed.
    stage_bulk_url: str | None = None
    today: str = ""


class PhotoView(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    label: str
    url: str
    width: int
    height: int
    # Once the photo is analysed: its small thumbnail (the grid) and its large one (tapped). Until then the grid shows
    # `url` itself, lazily; `large_url` is the large thumbnail, or the original when there is none.
    thumbnail_url: str | None = None
    large_url: str | None = None
    # Photo evidence for this photo, when it has been checked: where it was taken (EXIF latitude, longitude) and
    # what the checks found (a reused photo's check links the other household when the reader may see it).
    exif: tuple[float, float] | None = None
    checks: list[CheckView] = []


class MapPoint(msgspec.Struct, frozen=True, kw_only=True):
    """A point on the location plot, in SVG units (the household's point is the centre)."""

    x: float
    y: float
    label: str
    distance_m: float | None = None


class LocationView(msgspec.Struct, frozen=True, kw_only=True):
    """The household's GPS point with its accuracy circle, the photos' EXIF points (when known), and a scale bar,
    all on an inline SVG plot (no map tiles: offices are often offline)."""

    latitude: float
    longitude: float
    accuracy_m: float | None
    size: int
    centre: float
    accuracy_radius: float | None
    points: list[MapPoint]
    scale_length: float
    scale_label: str
    # Metres the plot spans from the centre to an edge.
    extent_m: float


class HouseholdLink(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    url: str


class CheckView(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    # The check's reason in the reader's language (the evidence checks keep both).
    label: str
    # info, warn or risk (service/evidence/checks.py), and its name for the reader
    severity: str
    severity_label: str
    # A reused photo: the other household, when the reader's areas reach it; else only that there is one.
    other: HouseholdLink | None = None
    other_hidden: bool = False


class EvidenceView(msgspec.Struct, frozen=True, kw_only=True):
    """Photo-evidence results for the household (service/evidence): a risk score from 0 to 100, the household's own
    checks (its photos' checks are under each photo), the checks counted by severity, and the households sharing a
    photo with it that the reader may see. `pending`: not checked yet, or not since the household last changed."""

    pending: bool
    risk: RiskView | None
    checks: list[CheckView]
    info: int
    warn: int
    risk_checks: int
    checked_at: str | None
    shared_with: list[HouseholdLink]


class AnswerView(msgspec.Struct, frozen=True, kw_only=True):
    label: str
    value: str
    # A key answer of the example form that deserves attention (e.g. a temporary house).
    highlight: bool = False


class DiffView(msgspec.Struct, frozen=True, kw_only=True):
    field: str
    old: str
    new: str


class CommentView(msgspec.Struct, frozen=True, kw_only=True):
    author: str
    at: str
    body: str


class DecisionView(msgspec.Struct, frozen=True, kw_only=True):
    """What the decision form needs: where it posts, and the reasons a reviewer may give."""

    url: str
    reasons: list[ReasonView]
    note_max: int = 4000


class HouseholdView(msgspec.Struct, frozen=True, kw_only=True):
    project_id: int
    xml_form_id: str
    form_name: str
    instance_id: str
    title: str
    state: str
    submitted_at: str
    updated_at: str | None
    reviewed_at: str | None
    submitter: str
    area: str
    photos: list[PhotoView]
    photos_missing: int
    location: LocationView | None
    evidence: EvidenceView | None
    key_answers: list[AnswerView]
    answers: list[AnswerView]
    # Values the form calculates or records itself (no question, so no label)
    calculated: list[AnswerView]
    diffs: list[DiffView]
    comments: list[CommentView]
    comment_url: str
    decision: DecisionView | None
    queue_url: str
    next_url: str | None
    notice: str | None = None
    stages: StagesView | None = None
    plan: PlanView | None = None
    # The server's classification (null where the rules do not apply), and whether the phone computed another one.
    classification: str | None = None
    classification_mismatch: bool = False


class SummaryRowView(msgspec.Struct, frozen=True, kw_only=True):
    level: str
    name: str
    code: str | None
    received: int
    approved: int
    rejected: int
    flagged: int
    open: int
    temp_houses: int
    queue_url: str


class SummaryView(msgspec.Struct, frozen=True, kw_only=True):
    project_id: int
    xml_form_id: str
    form_name: str
    forms: list[FormLink]
    rows: list[SummaryRowView]
    queue_url: str
