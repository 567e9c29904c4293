"""Structs of exit plans: a household's plan, its actions and follow-up visits, and the lists of gaps."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from service.structs import Input, Output

__all__ = [
    "GAPS",
    "ActionIn",
    "ActionOut",
    "ActionPatch",
    "ActionRow",
    "Gap",
    "GapItemOut",
    "GapRow",
    "GapsOut",
    "PlanIn",
    "PlanOut",
    "PlanRow",
    "VisitIn",
    "VisitOut",
    "VisitRow",
]

Pathway = Literal[
    "livestock", "crops_forest", "wage_work", "trade_service", "labour_export", "social_protection", "other"
]
SupportType = Literal[
    "credit",
    "livelihood",
    "training",
    "job_placement",
    "labour_export",
    "housing",
    "water_sanitation",
    "health_insurance",
    "education",
    "information",
    "social_assistance",
    "other",
]
# The National Target Programme's seven projects (Decision 90/QĐ-TTg).
ProgrammeProject = Literal[
    "p1_infrastructure",
    "p2_livelihoods",
    "p3_production_nutrition",
    "p4_vocational_jobs",
    "p5_housing",
    "p6_communication",
    "p7_capacity_monitoring",
]
FundingSource = Literal["central_budget", "local_budget", "policy_credit", "sponsor", "household", "other"]
Progress = Literal["on_track", "behind", "at_risk"]
# no_plan: a poor or near-poor household without a plan; no_owner: a plan nobody answers for; overdue: an action
# past its date and not done; no_agency: a household without working capacity whose plan names no sponsoring agency.
Gap = Literal["no_plan", "no_owner", "overdue", "no_agency"]
GAPS: tuple[Gap, ...] = ("no_plan", "no_owner", "overdue", "no_agency")

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=4000)]
Amount = Annotated[int, msgspec.Meta(ge=0, le=10_000_000_000)]


class PlanIn(Input, kw_only=True):
    """Who answers for the plan (an official, optionally with their account, and/or a sponsoring agency), the main
    pathway out of poverty and the year it aims at."""

    owner_name: Name | None = None
    owner_user_id: int | None = None
    agency: Name | None = None
    target_exit_year: Annotated[int, msgspec.Meta(ge=2021, le=2035)] | None = None
    pathway: Pathway | None = None
    summary: Text | None = None


class ActionIn(Input, kw_only=True):
    support_type: SupportType
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    programme_project: ProgrammeProject | None = None
    amount_vnd: Amount | None = None
    funding_source: FundingSource | None = None
    responsible: Name | None = None
    due_date: date | None = None
    done_on: date | None = None


class ActionPatch(Input, kw_only=True):
    """Fields to change on an action (absent: unchanged; null: cleared)."""

    support_type: SupportType | msgspec.UnsetType = msgspec.UNSET
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | msgspec.UnsetType = msgspec.UNSET
    programme_project: ProgrammeProject | msgspec.UnsetType | None = msgspec.UNSET
    amount_vnd: Amount | msgspec.UnsetType | None = msgspec.UNSET
    funding_source: FundingSource | msgspec.UnsetType | None = msgspec.UNSET
    responsible: Name | msgspec.UnsetType | None = msgspec.UNSET
    due_date: date | msgspec.UnsetType | None = msgspec.UNSET
    done_on: date | msgspec.UnsetType | None = msgspec.UNSET


class VisitIn(Input, kw_only=True):
    visit_date: date
    progress: Progress
    note: Text | None = None


class PlanRow(msgspec.Struct, frozen=True):
    id: int
    submission_id: int
    owner_name: str | None
    owner_user_id: int | None
    agency: str | None
    target_exit_year: int | None
    pathway: str | None
    summary: str | None
    created_at: datetime
    updated_at: datetime


class ActionRow(msgspec.Struct, frozen=True):
    id: int
    support_type: str
    programme_project: str | None
    description: str
    amount_vnd: int | None
    funding_source: str | None
    responsible: str | None
    due_date: date | None
    done_on: date | None
    updated_at: datetime


class VisitRow(msgspec.Struct, frozen=True):
    id: int
    visit_date: date
    visited_by: int | None
    visited_by_name: str | None
    progress: str
    note: str | None
    created_at: datetime


class ActionOut(Output, kw_only=True):
    id: int
    support_type: str
    programme_project: str | None
    description: str
    amount_vnd: int | None
    funding_source: str | None
    responsible: str | None
    due_date: date | None
    done_on: date | None
    overdue: bool


class VisitOut(Output, kw_only=True):
    id: int
    visit_date: date
    visited_by: int | None
    visited_by_name: str | None
    progress: str
    note: str | None


class PlanOut(Output, kw_only=True):
    instance_id: str
    owner_name: str | None
    owner_user_id: int | None
    agency: str | None
    target_exit_year: int | None
    pathway: str | None
    summary: str | None
    actions: list[ActionOut]
    visits: list[VisitOut]
    total_amount_vnd: int
    # What keeps the plan from being concrete: no_owner, no_actions, action_without_date, action_without_responsible.
    gaps: list[str]
    updated_at: datetime


class GapRow(msgspec.Struct, frozen=True):
    submission_id: int
    instance_id: str
    instance_name: str | None
    district_code: str | None
    commune_code: str | None
    village_code: str | None
    classification: str | None
    created_at: datetime
    action_id: int | None
    action: str | None
    responsible: str | None
    due_date: date | None


class GapItemOut(Output, kw_only=True):
    instance_id: str
    instance_name: str | None
    district_code: str | None
    commune_code: str | None
    village_code: str | None
    classification: str | None
    # For overdue actions: which one, who carries it out, and since when it is due.
    action_id: int | None = None
    action: str | None = None
    responsible: str | None = None
    due_date: date | None = None


class GapsOut(Output, kw_only=True):
    gap: Gap
    items: list[GapItemOut]
    next_cursor: str | None
