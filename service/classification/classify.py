"""A household's classification under Decree 07/2021/NĐ-CP (Art. 3.2), from its answers.

consent refused                          → unclassified
any sign of the quick screen (Phiếu A)   → screened_out
income or urban/rural unknown            → unclassified (never poor by accident: no answer is taken as 0)
income per person per month > avg line   → other
income > poverty line                    → average
income ≤ poverty line, ≥ 3 deprivations  → poor
income ≤ poverty line, < 3 deprivations  → near_poor, unless the unknown indicators could make it 3
                                           (→ unclassified, with the answers that would decide it)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .answers import HouseholdAnswers, Notes
from .housing import consistency_checks, temp_house_2023, temp_house_2025
from .indicators import INDICATORS
from .models import AREAS, Classification, HouseRule, Missing

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from .models import Area, Class, Tri

__all__ = ["AVERAGE_LINE", "POVERTY_LINE", "RULES", "applies_to", "classify_household"]

RULES = "decree_07_2021"
# VND per person per month (Decree 07/2021 Art. 3.1, and the average-living-standard band of Art. 3.2).
POVERTY_LINE: dict[Area, int] = {"rural": 1_500_000, "urban": 2_000_000}
AVERAGE_LINE: dict[Area, int] = {"rural": 2_250_000, "urban": 3_000_000}
# Five income sources over the last 12 months, in thousand VND (so the phone's sums stay in 32-bit integers).
INCOME_SOURCES = ("inc_agri", "inc_wage", "inc_business", "inc_pension", "inc_other")
POOR_AT = 3  # deprivations
# The fields a form must have for its households to be classified (found by name, as the rules read them).
REQUIRED_FIELDS = frozenset(
    {"commune", "hh_size", "m_age", "water_source", "toilet_type", "internet_use", "info_devices", "house_tenure"}
    | set(INCOME_SOURCES)
)


def applies_to(field_names: Collection[str]) -> bool:
    """Whether a form asks what the rules need; other forms' households are not classified."""
    return set(field_names) >= REQUIRED_FIELDS


def classify_household(answers: Mapping[str, Any], commune_areas: Mapping[str, str]) -> Classification:
    """`commune_areas`: commune code → "urban" or "rural" (the form's commune list, its `area` column)."""
    household = HouseholdAnswers(answers)
    if household.text("consent") == "no":
        refused = Missing(answer="consent", reason="refused", needed_for="consent")
        unknown = HouseRule(eligible=None, missing=[refused])
        return _result("unclassified", household, missing=[refused], house=(unknown, unknown))
    if _screened_out(household):
        return _result("screened_out", household)
    income_notes = Notes("income")
    income = income_per_capita_month(household, income_notes)
    area_notes = Notes("area")
    area = _area(household, commune_areas, area_notes)
    indicators: dict[str, Tri] = {}
    indicator_notes: dict[str, Notes] = {}
    for code, indicator in INDICATORS.items():
        indicator_notes[code] = Notes(code)
        indicators[code] = indicator(household, indicator_notes[code])
    deprivations = [code for code, value in indicators.items() if value]
    unknown_indicators = [code for code, value in indicators.items() if value is None]
    missing: list[Missing] = []
    if income is None or area is None:
        classification: Class = "unclassified"
        missing = income_notes.missing + area_notes.missing
    elif income > AVERAGE_LINE[area]:
        classification = "other"
    elif income > POVERTY_LINE[area]:
        classification = "average"
    elif len(deprivations) >= POOR_AT:
        classification = "poor"
    elif len(deprivations) + len(unknown_indicators) >= POOR_AT:
        classification = "unclassified"
        missing = [m for code in unknown_indicators for m in indicator_notes[code].missing]
    else:
        classification = "near_poor"
    return _result(
        classification,
        household,
        income=income,
        area=area,
        deprivations=deprivations,
        unknown_indicators=unknown_indicators,
        missing=missing,
    )


def _result(
    classification: Class,
    household: HouseholdAnswers,
    *,
    income: int | None = None,
    area: Area | None = None,
    deprivations: list[str] | None = None,
    unknown_indicators: list[str] | None = None,
    missing: list[Missing] | None = None,
    house: tuple[HouseRule, HouseRule] | None = None,
) -> Classification:
    rule_2023, rule_2025 = house or (
        temp_house_2023(household, classification),
        temp_house_2025(household, classification),
    )
    return Classification(
        rules=RULES,
        classification=classification,
        income_per_capita_month=income,
        area=area,
        poverty_line=POVERTY_LINE[area] if area else None,
        average_line=AVERAGE_LINE[area] if area else None,
        deprivations=deprivations or [],
        unknown_indicators=unknown_indicators or [],
        missing=missing or [],
        temp_house_2023=rule_2023,
        temp_house_2025=rule_2025,
        checks=consistency_checks(household) if classification != "screened_out" else [],
    )


def _screened_out(household: HouseholdAnswers) -> bool:
    signs = household.choices("screen_signs") or []
    return any(sign != "none" for sign in signs)


def income_per_capita_month(household: HouseholdAnswers, notes: Notes) -> int | None:
    """Net income of the last 12 months ÷ 12 ÷ household size, in VND, rounded half up (the phone's round()).

    None when the household refused or did not know, or any source is unanswered: an amount never entered is not 0.
    """
    stated = household.text("income_known")
    if stated in {"refused", "dont_know"}:
        notes.add("income_known", "refused" if stated == "refused" else "dont_know")
        return None
    if stated is None and household.asked("income_known"):
        notes.add("income_known", "unanswered")
        return None
    amounts = [household.number(name) for name in INCOME_SOURCES]
    for name, amount in zip(INCOME_SOURCES, amounts, strict=True):
        if amount is None:
            notes.add(name, "unanswered")
    size = household.size()
    if size is None:
        notes.add("hh_size", "unanswered")
    if size is None or any(amount is None for amount in amounts):
        return None
    monthly = Fraction(sum(Fraction(a) for a in amounts if a is not None)) * 1000 / (12 * size)
    return math.floor(monthly + Fraction(1, 2))


def _area(household: HouseholdAnswers, commune_areas: Mapping[str, str], notes: Notes) -> Area | None:
    """Urban or rural, from the commune's row in the form's own list; the phone's `area_type` only for a commune
    the list does not know."""
    commune = household.text("commune")
    if commune is None:
        notes.add("commune", "unanswered")
        return None
    for area in AREAS:
        if commune_areas.get(commune) == area:
            return area
    for area in AREAS:
        if household.text("area_type") == area:
            return area
    notes.add("commune", "not_in_list")
    return None
