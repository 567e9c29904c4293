"""Structs of progress against the targets: the denominators (total households per area and year), the targets, the
poor districts, the counts per area, and the figures served per province, district and commune."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from service.structs import Input, Output

__all__ = [
    "AreaCounts",
    "AreaTotalRow",
    "Housing",
    "HouseholdTotalIn",
    "HouseholdTotalOut",
    "HouseholdTotalRow",
    "Level",
    "PoorDistrictIn",
    "PoorDistrictOut",
    "PoorDistrictRow",
    "ProgressOut",
    "ProgressRow",
    "TargetIn",
    "TargetOut",
    "TargetRow",
    "TotalsImported",
    "Transitions",
    "YearCount",
]

Level = Literal["province", "district", "commune"]
Year = Annotated[int, msgspec.Meta(ge=2000, le=2100)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Households = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


# The denominators


class HouseholdTotalRow(msgspec.Struct, frozen=True):
    area_code: str
    year: int
    households: int
    updated_at: datetime


class HouseholdTotalOut(Output, kw_only=True):
    area_code: str
    year: int
    households: int
    updated_at: datetime


class HouseholdTotalIn(Input, kw_only=True):
    households: Households


class TotalsImported(Output, kw_only=True):
    districts: int
    communes: int
    years: list[int]


class AreaTotalRow(msgspec.Struct, frozen=True):
    """A district or commune (or the province), with its own total for the year when one is stored."""

    code: str
    level: str
    parent_code: str | None
    name: str
    name_en: str | None
    households: int | None


# Targets and poor districts


class TargetRow(msgspec.Struct, frozen=True):
    area_code: str
    year: int
    poor_rate_percent: float | None
    near_poor_rate_percent: float | None
    source: str | None


class TargetIn(Input, kw_only=True):
    poor_rate_percent: Percent | None = None
    near_poor_rate_percent: Percent | None = None
    source: Text | None = None


class TargetOut(Output, kw_only=True):
    """A target as it applies to an area: `area_code` is where it is set (the area itself, or the province),
    `year` the end of the review it is for (the first target at or after the year shown)."""

    area_code: str
    year: int
    poor_rate_percent: float | None
    near_poor_rate_percent: float | None
    source: str | None


class PoorDistrictRow(msgspec.Struct, frozen=True):
    area_code: str
    listed_from: int
    listed_until: int | None
    listed_by: str | None
    exited_by: str | None
    exit_poor_rate_percent: float | None
    exit_rule_note: str | None


class PoorDistrictIn(Input, kw_only=True):
    listed_from: Year
    listed_until: Year | None = None
    listed_by: Text | None = None
    exited_by: Text | None = None
    # The poor rate below which the district may leave the list: not in the sources, so null until confirmed.
    exit_poor_rate_percent: Percent | None = None
    exit_rule_note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class PoorDistrictOut(Output, kw_only=True):
    area_code: str
    listed_from: int
    listed_until: int | None
    listed_by: str | None
    exited_by: str | None
    exit_poor_rate_percent: float | None
    exit_rule_note: str | None
    # On the list in the year shown.
    listed: bool = False
    # The poor rate is below the exit threshold (null: no threshold, or no rate).
    below_exit_rate: bool | None = None


# Counting


class AreaCounts(msgspec.Struct, frozen=True):
    """One line of the counting query: every household of the year in the reader's scope ("total"), one district's
    or one commune's."""

    level: str
    district_code: str | None
    commune_code: str | None
    surveyed: int
    poor: int
    near_poor: int
    unclassified: int
    escaped_poverty: int
    escaped_near_poverty: int
    fell_back: int
    newly_poor: int
    newly_near_poor: int
    temp_eligible: int
    housing_supported: int
    housing_new: int
    housing_repair: int
    housing_finished: int
    temp_still_standing: int
    housing_amount_vnd: int


class YearCount(msgspec.Struct, frozen=True):
    year: int
    households: int


class Transitions(Output, kw_only=True):
    """Compared with the status before the review (the form's `prior_status`)."""

    escaped_poverty: int = 0
    escaped_near_poverty: int = 0
    fell_back: int = 0
    newly_poor: int = 0
    newly_near_poor: int = 0


class Housing(Output, kw_only=True):
    """Temporary houses: eligible under the 2023 rule (the server's), supported (a housing action in the exit plan),
    finished (that action done), still standing (eligible and not finished)."""

    eligible: int = 0
    supported: int = 0
    supported_new: int = 0
    supported_repair: int = 0
    finished: int = 0
    still_standing: int = 0
    amount_vnd: int = 0


class ProgressRow(Output, kw_only=True):
    level: Level
    code: str | None
    parent_code: str | None
    name: str | None
    name_en: str | None
    # The denominator: "given" (stored for the area), "communes" or "districts" (summed from the areas below);
    # `areas_without_total` counts the areas below that have none when summed.
    households: int | None
    households_source: Literal["given", "communes", "districts"] | None
    areas_without_total: int = 0
    surveyed: int = 0
    poor: int = 0
    near_poor: int = 0
    unclassified: int = 0
    poor_rate: float | None = None
    near_poor_rate: float | None = None
    target: TargetOut | None = None
    meets_target: bool | None = None
    transitions: Transitions = msgspec.field(default_factory=Transitions)
    housing: Housing = msgspec.field(default_factory=Housing)
    poor_district: PoorDistrictOut | None = None


class ProgressOut(Output, kw_only=True):
    year: int
    area: str | None
    # Years with households in the reader's scope, newest first.
    years: list[int]
    rows: list[ProgressRow]
