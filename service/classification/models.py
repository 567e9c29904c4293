"""What the classification says about a household. camelCase, because it is stored (submissions.
classification_detail) and served (the review queue) exactly as built here."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "AREAS",
    "CLASSES",
    "Area",
    "Class",
    "Classification",
    "HouseRule",
    "Missing",
    "MissingReason",
    "Tri",
]

Class = Literal["poor", "near_poor", "average", "other", "unclassified", "screened_out"]
CLASSES: tuple[Class, ...] = ("poor", "near_poor", "average", "other", "unclassified", "screened_out")
Area = Literal["urban", "rural"]
AREAS: tuple[Area, ...] = ("urban", "rural")
# The rules' three-valued answer: True (holds), False (does not), None (cannot tell from the answers).
Tri = bool | None
MissingReason = Literal["dont_know", "refused", "unanswered", "not_in_list", "unclassified"]


class Missing(msgspec.Struct, frozen=True, rename="camel"):
    """An answer a rule needed and did not get.

    `answer` is the form's field name, with the member for roster answers: "members[2].m_malnut" (1-based, as the
    phone numbers them). `needed_for` is what it blocked: "income", "area", an indicator ("d03"), "consent",
    "temp_house_2023" or "temp_house_2025".
    """

    answer: str
    reason: MissingReason
    needed_for: str


class HouseRule(msgspec.Struct, frozen=True, rename="camel"):
    """Whether the household qualifies for housing support under one rule.

    eligible True: `reasons` are the housing conditions met. False: `reasons` are the conditions that failed.
    None: nothing failed, but `missing` answers decide it.
    """

    eligible: Tri
    reasons: list[str] = []
    missing: list[Missing] = []


class Classification(msgspec.Struct, frozen=True, rename="camel"):
    # Which rule set produced this, so stored results can be told apart when the rules change (Decree 30/2025).
    rules: str
    classification: Class
    # VND per person per month, rounded half up as the phone's round() does; None when income is not known.
    income_per_capita_month: int | None
    area: Area | None
    poverty_line: int | None
    average_line: int | None
    # Indicator codes d01…d12 the household is deprived in, and those its answers cannot decide ("don't know",
    # unanswered). A don't-know never counts as a deprivation.
    deprivations: list[str]
    unknown_indicators: list[str]
    # What kept the household unclassified (empty otherwise).
    missing: list[Missing]
    temp_house_2023: HouseRule
    temp_house_2025: HouseRule
    # Answers that contradict each other, for a supervisor to look at (they change nothing above).
    checks: list[str] = []
