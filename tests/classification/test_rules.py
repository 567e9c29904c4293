"""The server's classification (service/classification): every rule, and every age and threshold boundary.

The baseline household (tests/support/poverty.py) is near-poor in rural A Lưới: 250,000 VND per person per month,
deprived in d07 (2 of 3 structures non-durable) and d09 (unprotected water), 2 dependants of 4 members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from service.classification import Missing, applies_to, classify_household
from service.classification.answers import HouseholdAnswers, MemberAnswers, Notes
from service.classification.indicators import is_dependant, working_age
from tests.support.poverty import household, member

if TYPE_CHECKING:
    from collections.abc import Mapping

    from service.classification import Classification

# Xã Hồng Vân (rural) and Thị trấn A Lưới (urban) in A Lưới; Xã Phú Dương (rural) in Huế.
AREAS = {"20047": "rural", "20044": "urban", "19906": "rural"}
ADULT = ("Hồ Văn A", "head", "male", 40)


def classify(answers: Mapping[str, Any], areas: Mapping[str, str] = AREAS) -> Classification:
    return classify_household(answers, areas)


def with_member(*extra: dict[str, Any], **answers: Any) -> dict[str, Any]:
    """An adult head who works (not deprived, not dependant) and the given members."""
    return household(members=[member(*ADULT), *extra], **answers)


def income_for(per_capita_month: int, size: int) -> dict[str, int | None]:
    """The yearly income (thousand VND) that gives exactly this monthly income per person."""
    total = per_capita_month * 12 * size
    assert total % 1000 == 0
    return {"inc_agri": total // 1000}


# --- classification -------------------------------------------------------------------------------------------


def test_the_baseline_household_is_near_poor() -> None:
    result = classify(household())
    assert result.classification == "near_poor"
    assert result.income_per_capita_month == 250_000
    assert (result.area, result.poverty_line, result.average_line) == ("rural", 1_500_000, 2_250_000)
    assert result.deprivations == ["d07", "d09"]
    assert result.unknown_indicators == []
    assert result.missing == []
    assert result.checks == []


def test_three_deprivations_make_a_household_under_the_line_poor() -> None:
    result = classify(household(internet_use="no"))
    assert result.deprivations == ["d07", "d09", "d11"]
    assert result.classification == "poor"


@pytest.mark.parametrize(
    ("commune", "monthly", "expected"),
    [
        ("20047", 1_500_000, "near_poor"),  # exactly at the rural line: at or below counts
        ("20047", 1_500_250, "average"),
        ("20047", 2_250_000, "average"),  # exactly at the rural average line
        ("20047", 2_250_250, "other"),
        ("20044", 1_500_250, "near_poor"),  # the same income is under the urban line
        ("20044", 2_000_000, "near_poor"),
        ("20044", 2_000_250, "average"),
        ("20044", 3_000_000, "average"),
        ("20044", 3_000_250, "other"),
    ],
)
def test_income_lines_rural_and_urban(commune: str, monthly: int, expected: str) -> None:
    result = classify(household(commune=commune, income=income_for(monthly, 4)))
    assert result.income_per_capita_month == monthly
    assert result.classification == expected
    assert result.area == AREAS[commune]


def test_a_household_above_the_line_is_never_poor_whatever_its_deprivations() -> None:
    deprived = household(income=income_for(1_600_000, 4), internet_use="no", info_devices=["none"])
    result = classify(deprived)
    assert len(result.deprivations) == 4
    assert result.classification == "average"


def test_income_per_person_is_rounded_half_up_like_the_phone() -> None:
    # 3,000 VND a year for 4 people is 62.5 VND a month: XPath round() gives 63 (Python's round() would give 62).
    assert classify(household(income={"inc_agri": 3})).income_per_capita_month == 63


@pytest.mark.parametrize("reason", ["refused", "dont_know"])
def test_income_refused_or_unknown_leaves_the_household_unclassified(reason: str) -> None:
    result = classify(household(income_known=reason, internet_use="no"))
    assert result.classification == "unclassified"
    assert result.income_per_capita_month is None
    assert result.missing == [Missing(answer="income_known", reason=reason, needed_for="income")]  # type: ignore[arg-type]
    assert result.deprivations == ["d07", "d09", "d11"]  # still reported
    assert result.temp_house_2023.eligible is None


def test_an_income_never_entered_is_not_zero() -> None:
    result = classify(household(income={"inc_wage": None}))
    assert result.classification == "unclassified"
    assert result.missing == [Missing(answer="inc_wage", reason="unanswered", needed_for="income")]
    unanswered_question = household(income_known=None)
    assert classify(unanswered_question).missing == [
        Missing(answer="income_known", reason="unanswered", needed_for="income")
    ]


def test_a_form_version_without_the_income_question_uses_the_amounts() -> None:
    older = household()
    del older["g_income"]["income_known"]
    assert classify(older).classification == "near_poor"


def test_urban_or_rural_comes_from_the_form_list_then_the_phone() -> None:
    # The commune's row decides even when the phone's area_type says otherwise.
    urban = household(commune="20044", income=income_for(1_800_000, 4))
    assert classify(urban).classification == "near_poor"
    # A commune the list does not know: the phone's area_type, else unclassified.
    assert classify(household(commune="99999")).area == "rural"
    unknown = classify(household(commune="99999", area_type=...))
    assert unknown.classification == "unclassified"
    assert unknown.missing == [Missing(answer="commune", reason="not_in_list", needed_for="area")]


def test_refused_consent_is_unclassified() -> None:
    result = classify(household(consent="no"))
    assert result.classification == "unclassified"
    assert result.missing == [Missing(answer="consent", reason="refused", needed_for="consent")]


def test_any_sign_of_the_quick_screen_screens_the_household_out() -> None:
    result = classify(household(screen_signs=["car", "pension"]))
    assert result.classification == "screened_out"
    assert result.income_per_capita_month is None
    assert result.deprivations == []
    assert (result.temp_house_2023.eligible, result.temp_house_2023.reasons) == (False, ["screened_out"])
    assert result.temp_house_2025.eligible is False
    assert classify(household(screen_signs=["none"])).classification == "near_poor"


# --- don't know ----------------------------------------------------------------------------------------------------


def test_dont_know_is_never_a_deprivation_and_blocks_only_when_it_could_decide() -> None:
    child_dk = member("Hồ Văn C", "child", "male", 10, m_edu="1", m_malnut="dk")
    roster = [*household()["members"][:2], child_dk, household()["members"][3]]
    blocked = classify(household(members=roster))
    # 2 deprivations and 1 unknown could be 3: poor or near-poor cannot be told apart yet.
    assert blocked.classification == "unclassified"
    assert "d03" not in blocked.deprivations
    assert blocked.unknown_indicators == ["d03"]
    assert blocked.missing == [Missing(answer="members[3].m_malnut", reason="dont_know", needed_for="d03")]
    # With 3 deprivations it is poor anyway; with 1 it is near-poor anyway. The unknown stays reported.
    assert classify(household(members=roster, internet_use="no")).classification == "poor"
    near = classify(household(members=roster, water_source="piped"))
    assert (near.classification, near.unknown_indicators, near.missing) == ("near_poor", ["d03"], [])


# --- age bands -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sex", "age", "working"),
    [
        ("male", 14, False),
        ("male", 15, True),
        ("female", 15, True),
        ("female", 16, True),
        ("female", 55, True),
        ("female", 56, False),  # women retire at 56 in 2023
        ("male", 56, True),
        ("male", 60, True),  # 60y9m: a man of 60 completed years is under it for 9 months of 12
        ("male", 61, False),
    ],
)
def test_working_age_by_sex(sex: str, age: int, working: bool) -> None:
    assert working_age(MemberAnswers({"m_sex": sex, "m_age": age}, 1)) is working


def test_working_age_needs_the_sex_only_between_56_and_60() -> None:
    assert working_age(MemberAnswers({"m_age": 40}, 1)) is True
    assert working_age(MemberAnswers({"m_age": 58}, 1)) is None
    assert working_age(MemberAnswers({"m_age": 61}, 1)) is False


@pytest.mark.parametrize("sex", ["male", "female"])
def test_no_age_is_both_working_age_and_dependant(sex: str) -> None:
    for age in range(100):
        able = MemberAnswers(member("X", "child", sex, age), 1)
        if working_age(able):
            assert is_dependant(able, Notes("d02")) is False, age
        if age < 15:
            assert is_dependant(able, Notes("d02")) is True, age


@pytest.mark.parametrize(
    ("sex", "age", "job"),
    [
        ("male", 15, "unemployed"),
        ("male", 16, "wage_no_contract"),
        ("female", 55, "unemployed"),
        ("male", 60, "unemployed"),
    ],
)
def test_d01_a_working_age_member_out_of_work_or_without_contract(sex: str, age: int, job: str) -> None:
    assert "d01" in classify(with_member(member("Y", "child", sex, age, m_job=job))).deprivations


@pytest.mark.parametrize(("sex", "age"), [("male", 14), ("female", 56), ("male", 61)])
def test_d01_does_not_count_members_outside_working_age(sex: str, age: int) -> None:
    assert "d01" not in classify(with_member(member("Y", "child", sex, age, m_job="unemployed"))).deprivations


def test_d01_a_working_age_member_unable_to_work_is_not_unemployed() -> None:
    unable = member("Y", "child", "female", 30, m_work_cap="severe_disability")
    assert "d01" not in classify(with_member(unable)).deprivations


@pytest.mark.parametrize(
    ("extra", "deprived"),
    [
        (member("Y", "child", "male", 14), True),  # under 15: a dependant (2 of 3)
        (member("Y", "child", "male", 15), False),  # 15 and able: working age
        (member("Y", "child", "male", 16), False),
        (member("Y", "child", "female", 55, m_job="inactive"), False),  # working age, able: not a dependant
        (member("Y", "child", "female", 56, m_job="inactive"), True),  # past retirement, no work, no pension
        (member("Y", "child", "female", 56, m_job="inactive", m_pension="yes"), False),  # draws a pension
        (member("Y", "child", "female", 56), False),  # works her own farm
        (member("Y", "child", "male", 60, m_job="inactive"), False),
        (member("Y", "child", "male", 61, m_job="inactive"), True),
        (member("Y", "child", "male", 61, m_work_cap="elderly_weak", m_pension="yes"), False),
        (member("Y", "child", "male", 40, m_work_cap="chronic_ill"), True),  # working age, unable to work
    ],
)
def test_d02_dependants_more_than_half(extra: dict[str, Any], deprived: bool) -> None:
    grandmother = member("Z", "parent", "female", 70, m_work_cap="elderly_weak")
    result = classify(with_member(grandmother, extra))
    assert ("d02" in result.deprivations) is deprived


def test_d02_exactly_half_is_not_deprived() -> None:
    # The baseline: the child (10) and the grandmother (70, no pension) of 4 members.
    assert "d02" not in classify(household()).deprivations
    third = member("E", "child", "male", 3)
    assert "d02" in classify(household(members=[*household()["members"], third])).deprivations


def test_d02_a_pension_not_yet_answered_is_unknown_not_dependant() -> None:
    unanswered = member("Y", "parent", "male", 65, m_work_cap="elderly_weak", m_pension=None)
    result = classify(with_member(member("Z", "parent", "female", 70, m_work_cap="elderly_weak"), unanswered))
    assert "d02" in result.unknown_indicators
    assert Missing(answer="members[3].m_pension", reason="unanswered", needed_for="d02") in result.missing


@pytest.mark.parametrize(("age", "deprived"), [(15, True), (16, False)])
def test_d03_nutrition_of_children_under_16(age: int, deprived: bool) -> None:
    child = member("Y", "child", "male", age, m_malnut="yes")
    assert ("d03" in classify(with_member(child)).deprivations) is deprived


@pytest.mark.parametrize(("age", "deprived"), [(5, False), (6, True)])
def test_d04_health_insurance_from_6(age: int, deprived: bool) -> None:
    child = member("Y", "child", "male", age, m_bhyt="no")
    assert ("d04" in classify(with_member(child)).deprivations) is deprived


@pytest.mark.parametrize(
    ("age", "school", "level", "deprived"),
    [
        (15, "not_attending", "1", False),  # under 16: d06's business, not d05's
        (16, "not_attending", "1", True),  # 16-17 need lower-secondary (2)
        (16, "not_attending", "2", False),
        (17, "studying", "1", False),  # studying: not deprived whatever the level
        (18, "not_attending", "2", True),  # 18-30 need upper-secondary (3) or vocational
        (18, "not_attending", "3", False),
        (18, "not_attending", "4", False),
        (30, "not_attending", "2", True),
        (31, None, "2", False),  # over 30: out of the band
    ],
)
def test_d05_adult_education(age: int, school: str | None, level: str, deprived: bool) -> None:
    adult = member("Y", "child", "female", age, m_school=school, m_edu=level)
    if school is None:
        adult.pop("m_school")
    assert ("d05" in classify(with_member(adult)).deprivations) is deprived


@pytest.mark.parametrize(
    ("age", "school", "deprived"),
    [
        (2, None, False),
        (3, "not_attending", True),
        (10, "wrong_level", True),
        (15, "not_attending", True),
        (16, "not_attending", False),
    ],
)
def test_d06_school_attendance_3_to_15(age: int, school: str | None, deprived: bool) -> None:
    child = member("Y", "child", "male", age, m_school=school, m_edu="2")
    if school is None:
        child.pop("m_school", None)
    result = classify(with_member(child))
    assert ("d06" in result.deprivations) is deprived


# --- housing, water, information ----------------------------------------------------------------------------------


def _no_house() -> dict[str, Any]:
    gone: dict[str, Any] = dict.fromkeys(
        ("floor_material", "wall_material", "roof_material", "house_class", "house_length", "house_width"), ...
    )
    return household(house_tenure="none", house_area=..., house_condition=..., **gone)


def test_no_house_is_deprived_in_quality_and_area() -> None:
    result = classify(_no_house())
    assert {"d07", "d08"} <= set(result.deprivations)


@pytest.mark.parametrize(("area", "deprived"), [(32.0, False), (31.9, True)])
def test_d08_exactly_8_m2_per_person_is_not_deprived(area: float, deprived: bool) -> None:
    result = classify(household(house_area=area, house_length=8.0, house_width=4.0))
    assert ("d08" in result.deprivations) is deprived


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ({"water_source": "piped"}, None),
        ({"toilet_type": "unimproved"}, "d10"),
        ({"internet_use": "no"}, "d11"),
        ({"info_devices": ["none"]}, "d12"),
        ({"roof_material": "n_thatch", "house_class": "don_so"}, "d07"),
    ],
)
def test_services_information_and_structures(answers: dict[str, Any], code: str | None) -> None:
    result = classify(household(**answers))
    baseline = {"d07", "d09"} - ({"d09"} if "water_source" in answers else set())
    assert set(result.deprivations) == baseline | ({code} if code else set())


# --- temporary houses -----------------------------------------------------------------------------------------------


def test_temp_house_2023_baseline_is_eligible() -> None:
    result = classify(household())
    assert (result.temp_house_2023.eligible, result.temp_house_2023.reasons) == (True, ["non_durable_structures"])
    assert (result.temp_house_2025.eligible, result.temp_house_2025.reasons) == (True, ["non_durable_structures"])


@pytest.mark.parametrize(
    ("answers", "reason_2023", "eligible_2025"),
    [
        ({"land_ok": "no"}, "land_not_undisputed", False),
        ({"prior_housing_support": "yes"}, "earlier_support", True),
        ({"district": "474", "commune": "19906"}, "not_a_poor_district", True),
        ({"income": {"inc_agri": 90_000}}, "not_poor_or_near_poor", True),
    ],
)
def test_temp_house_2023_conditions(answers: dict[str, Any], reason_2023: str, eligible_2025: bool) -> None:
    result = classify(household(**answers))
    assert (result.temp_house_2023.eligible, result.temp_house_2023.reasons) == (False, [reason_2023])
    assert result.temp_house_2025.eligible is eligible_2025


def test_temp_house_unknowns_are_reported_not_guessed() -> None:
    result = classify(household(prior_housing_support="dk"))
    assert result.temp_house_2023.eligible is None
    assert result.temp_house_2023.missing == [
        Missing(answer="prior_housing_support", reason="dont_know", needed_for="temp_house_2023")
    ]
    assert result.temp_house_2025.eligible is True  # the 2025 rule does not ask about earlier support
    unclassified = classify(household(income_known="refused"))
    assert unclassified.temp_house_2023.missing == [
        Missing(answer="classification", reason="unclassified", needed_for="temp_house_2023")
    ]


def test_no_house_at_all_qualifies_under_both_rules_on_undisputed_land() -> None:
    result = classify(_no_house())
    assert (result.temp_house_2023.eligible, result.temp_house_2023.reasons) == (True, ["no_house"])
    assert (result.temp_house_2025.eligible, result.temp_house_2025.reasons) == (True, ["no_house"])
    landless = _no_house()
    landless["g_house"]["land_ok"] = "no"
    assert classify(landless).temp_house_2023.reasons == ["land_not_undisputed"]


def _durable(**answers: Any) -> dict[str, Any]:
    return household(
        floor_material="d_concrete", wall_material="d_masonry", roof_material="d_tile", house_class="kien_co", **answers
    )


@pytest.mark.parametrize(
    ("area", "eligible_2023", "eligible_2025"),
    [
        (32.0, False, False),  # exactly 8 m² per person
        (31.0, True, False),  # under 8 per person, but 30 m² or more: not small under Decision 55
        (29.0, True, True),
    ],
)
def test_area_rules_for_a_family(area: float, eligible_2023: bool, eligible_2025: bool) -> None:
    result = classify(_durable(house_area=area, house_length=6.0, house_width=5.0))
    assert result.temp_house_2023.eligible is eligible_2023
    assert result.temp_house_2025.eligible is eligible_2025
    if eligible_2023:
        assert result.temp_house_2023.reasons == ["under_8_m2_per_person"]
    else:
        assert result.temp_house_2023.reasons == ["house_adequate"]


@pytest.mark.parametrize(("area", "eligible_2025"), [(17.9, True), (18.0, False)])
def test_area_rule_for_one_person(area: float, eligible_2025: bool) -> None:
    alone = _durable(house_area=area, house_length=6.0, house_width=3.0, income={"inc_agri": 6_000})
    alone["members"] = [member("Hồ Thị D", "head", "female", 50)]
    alone["g_hh"]["hh_size"] = 1
    assert classify(alone).temp_house_2025.eligible is eligible_2025


def test_a_dilapidated_house_counts_only_under_the_2025_rule() -> None:
    result = classify(_durable(house_condition="dilapidated"))
    assert (result.temp_house_2023.eligible, result.temp_house_2023.reasons) == (False, ["house_adequate"])
    assert (result.temp_house_2025.eligible, result.temp_house_2025.reasons) == (True, ["dilapidated"])


# --- checks, and which forms are classified -------------------------------------------------------------------------


def test_consistency_checks() -> None:
    assert classify(household(house_class="kien_co")).checks == ["house_class_inconsistent"]
    assert classify(household(house_area=50.0)).checks == ["area_differs_from_dimensions"]
    assert classify(household(house_area=44.0)).checks == []  # within 25% of 6 x 6
    assert classify(household(income_plausible="no")).checks == ["income_doubted_by_enumerator"]


def test_answers_are_found_by_name_in_any_group() -> None:
    flat: dict[str, Any] = {}
    for value in household().values():
        flat.update(value if isinstance(value, dict) else {})
    flat["members"] = household()["members"]
    assert classify(flat) == classify(household())
    assert HouseholdAnswers({"g": {"hh_size": "4"}}).size() == 4


def test_only_forms_with_the_needed_fields_are_classified() -> None:
    from pyxform.xls2xform import convert

    from forms.build_xlsx import FORMS_DIR
    from service.forms.schema import parse_xform
    from tests.support.xlsform import SIMPLE_SURVEY, xlsx

    example = convert((FORMS_DIR / "household_poverty_review_2023.xlsx").read_bytes(), file_type=".xlsx")
    assert applies_to([f.name for f in parse_xform(example.xform.encode()).fields])
    simple = convert(xlsx(SIMPLE_SURVEY, form_id="household", version="1"), file_type=".xlsx")
    assert not applies_to([f.name for f in parse_xform(simple.xform.encode()).fields])
