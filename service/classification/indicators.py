"""The 12 deprivation indicators of Decree 07/2021/NĐ-CP (6 dimensions), as the example form asks them.

Each indicator is three-valued: True (deprived), False (not deprived), None (the answers cannot tell; what is missing
is noted). A "don't know" never counts as a deprivation. Thresholds: docs/domain.md §3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .answers import DONT_KNOW

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .answers import HouseholdAnswers, MemberAnswers, Notes
    from .models import Tri

__all__ = ["INDICATORS", "is_dependant", "non_durable_structures", "past_working_age", "working_age"]

# Labour Code 2019 (Decree 135/2020): in 2023 men retire at 60 years 9 months and women at 56; working age starts at
# 15. The form has completed years only. A woman of 56 has reached 56y0m, so 55 is her last working-age year. A man
# of 60 is 60y0m to 60y11m and is under 60y9m for 9 of those 12 months, so 60 counts as working age and 61 does not.
WORKING_AGE_FROM = 15
LAST_WORKING_AGE = {"male": 60, "female": 55}
# A member who does any of these works (wage work with or without a contract, own farm or business).
WORKING = frozenset({"wage_contract", "wage_no_contract", "own_farm", "own_nonfarm"})
_DEPRIVING_WORK = frozenset({"unemployed", "wage_no_contract"})
# Attending school or training in any form (d05): then the qualification for one's age is not required yet.
_STUDYING = frozenset({"right_level", "wrong_level", "studying"})
SAFE_WATER = frozenset({"piped", "borehole", "protected_well", "protected_spring", "rain", "bottled"})
HYGIENIC_LATRINE = frozenset({"septic", "semi_septic", "pour_flush", "double_vault", "vip"})
STRUCTURES = ("floor_material", "wall_material", "roof_material")
MIN_AREA_PER_PERSON = 8  # m²


def any_of(values: Iterable[Tri]) -> Tri:
    """True if any is True; otherwise None if any is unknown; otherwise False."""
    unknown = False
    for value in values:
        if value:
            return True
        unknown = unknown or value is None
    return None if unknown else False


def working_age(member: MemberAnswers) -> Tri:
    """15 up to the last working-age year of the member's sex (None: no age, or 56 to 60 without a sex)."""
    age = member.age
    if age is None:
        return None
    if age < WORKING_AGE_FROM or age > max(LAST_WORKING_AGE.values()):
        return False
    if age <= min(LAST_WORKING_AGE.values()):
        return True
    last = LAST_WORKING_AGE.get(member.sex or "")
    return None if last is None else age <= last


def past_working_age(member: MemberAnswers) -> Tri:
    if member.age is None:
        return None
    if member.age < WORKING_AGE_FROM:
        return False
    working = working_age(member)
    return None if working is None else not working


def _works(member: MemberAnswers) -> Tri:
    job = member.text("m_job")
    if job is not None:
        return job in WORKING
    capacity = member.text("m_work_cap")
    # Work is asked only of members able to work: someone unable does not work.
    return None if capacity in {None, "able"} else False


def is_dependant(member: MemberAnswers, notes: Notes) -> Tri:
    """Children under 15; working-age members unable to work; members past working age unless they work or draw a
    pension. Each member falls in exactly one of the three bands, so no age is both working-age and dependant."""
    if member.age is None:
        notes.add(member.label("m_age"), "unanswered")
        return None
    if member.age < WORKING_AGE_FROM:
        return True
    working = working_age(member)
    if working is None:
        notes.add(member.label("m_sex"), "unanswered")
        return None
    if working:
        capacity = member.known("m_work_cap", notes)
        return None if capacity is None else capacity != "able"
    if _works(member) or member.text("m_pension") == "yes":
        return False
    if _works(member) is None:
        notes.add(member.label("m_job"), "unanswered")
        return None
    pension = member.known("m_pension", notes)
    return None if pension is None else pension != "yes"


def d01_employment(household: HouseholdAnswers, notes: Notes) -> Tri:
    """A working-age member is unemployed or a wage worker without a labour contract."""

    def deprived(member: MemberAnswers) -> Tri:
        working = working_age(member)
        if working is False:
            return False
        job = member.text("m_job")
        if job is not None and job not in _DEPRIVING_WORK:
            return False
        if working is None:
            notes.add(member.label("m_age" if member.age is None else "m_sex"), "unanswered")
            return None
        if job is None:
            if member.text("m_work_cap") not in {None, "able"}:
                return False  # unable to work: work is not asked, and not being able is not unemployment
            notes.add(member.label("m_job"), "unanswered")
            return None
        return True

    return any_of(deprived(m) for m in household.members)


def d02_dependants(household: HouseholdAnswers, notes: Notes) -> Tri:
    """Dependants are more than half the members (exactly half is not deprived)."""
    if not household.members:
        notes.add("members", "unanswered")
        return None
    flags = [is_dependant(m, notes) for m in household.members]
    total = len(flags)
    dependants = sum(1 for f in flags if f)
    unknown = sum(1 for f in flags if f is None)
    if 2 * dependants > total:
        return True
    if 2 * (dependants + unknown) > total:
        return None
    return False


def _members(
    household: HouseholdAnswers,
    notes: Notes,
    ages: Callable[[int], bool],
    deprived: Callable[[MemberAnswers, Notes], Tri],
) -> Tri:
    """Any member in the age band is deprived; a member without an age might be in it."""
    if not household.members:
        notes.add("members", "unanswered")
        return None
    values: list[Tri] = []
    for member in household.members:
        if member.age is None:
            notes.add(member.label("m_age"), "unanswered")
            values.append(None)
        elif ages(member.age):
            values.append(deprived(member, notes))
    return any_of(values)


def d03_nutrition(household: HouseholdAnswers, notes: Notes) -> Tri:
    """A child under 16 is stunted or underweight (per health records)."""

    def deprived(member: MemberAnswers, notes: Notes) -> Tri:
        answer = member.known("m_malnut", notes)
        return None if answer is None else answer == "yes"

    return _members(household, notes, lambda age: age < 16, deprived)


def d04_insurance(household: HouseholdAnswers, notes: Notes) -> Tri:
    """A member aged 6 or more has no valid health insurance card."""

    def deprived(member: MemberAnswers, notes: Notes) -> Tri:
        answer = member.known("m_bhyt", notes)
        return None if answer is None else answer == "no"

    return _members(household, notes, lambda age: age >= 6, deprived)


def d05_adult_education(household: HouseholdAnswers, notes: Notes) -> Tri:
    """A member aged 16 to 30 is not studying and lacks the level for their age: lower-secondary (2) below 18,
    upper-secondary or a vocational certificate (3 and up) from 18."""

    def deprived(member: MemberAnswers, notes: Notes) -> Tri:
        school = member.text("m_school")
        if school in _STUDYING:
            return False
        level = member.integer("m_edu")
        needed = 2 if (member.age or 0) < 18 else 3
        if level is not None and level >= needed:
            return False  # qualified for their age, whether studying or not
        if school is None or school == DONT_KNOW:
            notes.add(member.label("m_school"), "unanswered" if school is None else "dont_know")
            return None
        if level is None:
            notes.add(member.label("m_edu"), "unanswered")
            return None
        return True

    return _members(household, notes, lambda age: 16 <= age <= 30, deprived)


def d06_school(household: HouseholdAnswers, notes: Notes) -> Tri:
    """A child aged 3 to under 16 is not attending the school level right for their age."""

    def deprived(member: MemberAnswers, notes: Notes) -> Tri:
        school = member.known("m_school", notes)
        return None if school is None else school != "right_level"

    return _members(household, notes, lambda age: 3 <= age < 16, deprived)


def non_durable_structures(household: HouseholdAnswers, notes: Notes) -> tuple[int, int]:
    """(known non-durable, unknown) among floor-foundation, frame-walls and roof: `n_…` choices are non-durable."""
    materials = [household.known(name, notes) for name in STRUCTURES]
    non_durable = sum(1 for m in materials if m is not None and m.startswith("n_"))
    return non_durable, sum(1 for m in materials if m is None)


def d07_housing(household: HouseholdAnswers, notes: Notes) -> Tri:
    """No house, or at least 2 of the 3 main structures are non-durable."""
    tenure = household.known("house_tenure", notes)
    if tenure is None:
        return None
    if tenure == "none":
        return True
    non_durable, unknown = non_durable_structures(household, notes)
    if non_durable >= 2:
        return True
    return None if non_durable + unknown >= 2 else False


def d08_area(household: HouseholdAnswers, notes: Notes) -> Tri:
    """No house, or less than 8 m² per person (exactly 8 is not deprived)."""
    tenure = household.known("house_tenure", notes)
    if tenure is None:
        return None
    if tenure == "none":
        return True
    area = household.number("house_area")
    size = household.size()
    if area is None:
        notes.add("house_area", "unanswered")
    if size is None:
        notes.add("hh_size", "unanswered")
    if area is None or size is None:
        return None
    return area < MIN_AREA_PER_PERSON * size


def _one_choice(name: str, deprived: Callable[[str], bool]) -> Callable[[HouseholdAnswers, Notes], Tri]:
    def indicator(household: HouseholdAnswers, notes: Notes) -> Tri:
        answer = household.known(name, notes)
        return None if answer is None else deprived(answer)

    return indicator


def d12_devices(household: HouseholdAnswers, notes: Notes) -> Tri:
    """None of TV, radio, computer, phone, tablet."""
    devices = household.choices("info_devices")
    if devices is None:
        notes.add("info_devices", "unanswered")
        return None
    return "none" in devices


INDICATORS: dict[str, Callable[[HouseholdAnswers, Notes], Tri]] = {
    "d01": d01_employment,
    "d02": d02_dependants,
    "d03": d03_nutrition,
    "d04": d04_insurance,
    "d05": d05_adult_education,
    "d06": d06_school,
    "d07": d07_housing,
    "d08": d08_area,
    "d09": _one_choice("water_source", lambda water: water not in SAFE_WATER),
    "d10": _one_choice("toilet_type", lambda toilet: toilet not in HYGIENIC_LATRINE),
    "d11": _one_choice("internet_use", lambda internet: internet == "no"),
    "d12": d12_devices,
}
