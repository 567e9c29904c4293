"""Housing support eligibility ("nhà tạm, nhà dột nát") under the 2023 rule and the 2025 rule, and the consistency
checks a supervisor looks at next to the house photos. Sources: docs/domain.md §4."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .answers import DONT_KNOW, Notes
from .indicators import MIN_AREA_PER_PERSON, STRUCTURES, any_of, non_durable_structures
from .models import HouseRule

if TYPE_CHECKING:
    from collections.abc import Callable

    from .answers import HouseholdAnswers
    from .models import Class, Tri

__all__ = ["POOR_DISTRICTS_2023", "consistency_checks", "temp_house_2023", "temp_house_2025"]

# Poor districts of Decision 353/QĐ-TTg (2022) in Thừa Thiên Huế: A Lưới (recognised as out of poverty in 2024).
POOR_DISTRICTS_2023 = frozenset({"481"})
# GSO house classes by how many of the three main structures are non-durable (0 → kiên cố … 3 → đơn sơ).
HOUSE_CLASS_BY_NON_DURABLE = ("kien_co", "ban_kien_co", "thieu_kien_co", "don_so")
# The usable area may differ from length x width (walls, an upper floor) but not by more than this without a look.
AREA_TOLERANCE = 0.25


# A condition of a rule: (holds?, the reason code when it holds, the reason code when it fails).
_Condition = tuple["Tri", str, str]


def _decide(conditions: list[_Condition], needs: list[_Condition], notes: Notes) -> HouseRule:
    """All `conditions` and at least one of `needs` must hold; a failure decides before an unknown does."""
    failed = [fails for holds, _, fails in conditions if holds is False]
    met = [reason for holds, reason, _ in needs if holds]
    need = any_of(holds for holds, _, _ in needs)
    if need is False:
        failed.append(needs[0][2])
    if failed:
        return HouseRule(eligible=False, reasons=failed)
    if need is None or any(holds is None for holds, _, _ in conditions):
        return HouseRule(eligible=None, missing=notes.missing)
    return HouseRule(eligible=True, reasons=met)


def _yes(household: HouseholdAnswers, name: str, notes: Notes, wanted: str = "yes") -> Tri:
    answer = household.known(name, notes)
    return None if answer is None else answer == wanted


def _house(household: HouseholdAnswers, notes: Notes) -> tuple[Tri, Tri]:
    """(no house?, ≥ 2 of 3 structures non-durable?)"""
    tenure = household.known("house_tenure", notes)
    if tenure is None:
        return None, None
    if tenure == "none":
        return True, False
    non_durable, unknown = non_durable_structures(household, notes)
    return False, True if non_durable >= 2 else (None if non_durable + unknown >= 2 else False)


def _area_below(household: HouseholdAnswers, notes: Notes, rule: Callable[[float, int], bool]) -> Tri:
    if household.text("house_tenure") == "none":
        return False
    area = household.number("house_area")
    size = household.size()
    if area is None or size is None:
        notes.add("house_area" if area is None else "hh_size", "unanswered")
        return None
    return rule(area, size)


def temp_house_2023(household: HouseholdAnswers, classification: Class) -> HouseRule:
    """Circular 01/2022/TT-BXD: a poor or near-poor household of a poor district, on undisputed residential land,
    never supported before, with no house, ≥ 2 of 3 structures non-durable, or < 8 m² per person."""
    notes = Notes("temp_house_2023")
    if classification == "screened_out":
        return HouseRule(eligible=False, reasons=["screened_out"])
    if classification == "unclassified":
        notes.add("classification", "unclassified")
        poor: Tri = None
    else:
        poor = classification in {"poor", "near_poor"}
    district = household.text("district")
    if district is None:
        notes.add("district", "unanswered")
    no_house, non_durable = _house(household, notes)
    support = household.text("prior_housing_support")
    if support is None or support == DONT_KNOW:
        notes.add("prior_housing_support", "unanswered" if support is None else "dont_know")
    return _decide(
        [
            (poor, "poor_or_near_poor", "not_poor_or_near_poor"),
            (None if district is None else district in POOR_DISTRICTS_2023, "poor_district", "not_a_poor_district"),
            (_yes(household, "land_ok", notes), "land_undisputed", "land_not_undisputed"),
            (None if support in {None, DONT_KNOW} else support == "no", "no_earlier_support", "earlier_support"),
        ],
        [
            (no_house, "no_house", "house_adequate"),
            (non_durable, "non_durable_structures", "house_adequate"),
            (
                _area_below(household, notes, lambda area, size: area < MIN_AREA_PER_PERSON * size),
                "under_8_m2_per_person",
                "house_adequate",
            ),
        ],
        notes,
    )


def _small_for_decision_55(area: float, size: int) -> bool:
    """Under 18 m² for one person; under 30 m² and under 8 m² per person for a family."""
    if size == 1:
        return area < 18
    return area < 30 and area < MIN_AREA_PER_PERSON * size


def temp_house_2025(household: HouseholdAnswers, classification: Class) -> HouseRule:
    """Decision 55/QĐ-BXD (2025): on undisputed residential land, and no house, the area rule, ≥ 2 of 3 structures
    non-durable, or dilapidated (at risk of collapse). It judges the house only, not the household's status."""
    notes = Notes("temp_house_2025")
    if classification == "screened_out":
        return HouseRule(eligible=False, reasons=["screened_out"])
    no_house, non_durable = _house(household, notes)
    dilapidated: Tri = False
    if no_house is False:
        condition = household.known("house_condition", notes)
        dilapidated = None if condition is None else condition == "dilapidated"
    return _decide(
        [(_yes(household, "land_ok", notes), "land_undisputed", "land_not_undisputed")],
        [
            (no_house, "no_house", "house_adequate"),
            (non_durable, "non_durable_structures", "house_adequate"),
            (dilapidated, "dilapidated", "house_adequate"),
            (_area_below(household, notes, _small_for_decision_55), "small_area", "house_adequate"),
        ],
        notes,
    )


def consistency_checks(household: HouseholdAnswers) -> list[str]:
    """Answers that contradict each other: the observed house class against the materials recorded, the usable
    area against length x width, and the enumerator's own doubt about the declared income."""
    checks = []
    ignored = Notes("checks")
    house_class = household.text("house_class")
    if house_class is not None and all(household.text(name) for name in STRUCTURES):
        non_durable, _ = non_durable_structures(household, ignored)
        if house_class != HOUSE_CLASS_BY_NON_DURABLE[non_durable]:
            checks.append("house_class_inconsistent")
    area, length, width = (household.number(n) for n in ("house_area", "house_length", "house_width"))
    if area is not None and length is not None and width is not None and length * width > 0:
        footprint = length * width
        if abs(area - footprint) > AREA_TOLERANCE * footprint:
            checks.append("area_differs_from_dimensions")
    if household.text("income_plausible") == "no":
        checks.append("income_doubted_by_enumerator")
    return checks
