"""The example form's corrections (issue 10, part 1), read from the XForm pyxform makes of the committed workbook.

The rules themselves are tested in tests/classification/test_rules.py against the server's engine; these tests pin
the phone side: the binds, relevance, required expressions and choice filters that make the form ask and compute the
same things.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import pytest
from lxml import etree
from pyxform.xls2xform import convert

from forms.build_xlsx import FORMS_DIR, read_sheets

SOURCE = FORMS_DIR / "household_poverty_review_2023"
WORKBOOK = FORMS_DIR / "household_poverty_review_2023.xlsx"
INCOME = ("inc_agri", "inc_wage", "inc_business", "inc_pension", "inc_other")
_PLACE_KINDS = {"Phường": "Ward", "Xã": "Commune", "Thị trấn": "Township"}


class XForm:
    def __init__(self, xml: str) -> None:
        self.root = etree.fromstring(xml.encode("utf-8"))
        self.binds = {b.get("nodeset", ""): b for b in self.root.iter("{*}bind")}

    def bind(self, name: str) -> dict[str, str]:
        """The bind of the field called `name`, with paths written back as `${name}` and spaces squeezed."""
        [element] = [b for path, b in self.binds.items() if path.rsplit("/", 1)[-1] == name]
        return {str(key): _readable(str(value)) for key, value in element.attrib.items()}

    def itemset(self, name: str) -> str:
        for control in self.root.iter("{*}select1", "{*}select"):
            if control.get("ref", "").rsplit("/", 1)[-1] == name:
                return _readable(control.find("{*}itemset").get("nodeset", ""))  # type: ignore[union-attr]
        raise AssertionError(f"no select {name}")

    def items(self, list_name: str) -> list[dict[str, str]]:
        instance = next(i for i in self.root.iter("{*}instance") if i.get("id") == list_name)
        return [{etree.QName(c).localname: c.text or "" for c in item} for item in instance.iter("{*}item")]

    def top_level_order(self) -> list[str]:
        """Names of the primary instance's top-level nodes, in form order."""
        instance = next(i for i in self.root.iter("{*}instance") if i.get("id") is None)
        data = instance[0]
        return [etree.QName(child).localname for child in data]


_PATH = re.compile(r"current\(\)/\.\./\w+|\.\./\w+|/data(?:/\w+)+")
_QUOTED_OR_SPACE = re.compile(r"('[^']*')|\s+")


def _readable(expression: str) -> str:
    return xp(_PATH.sub(lambda path: f"${{{path.group(0).rsplit('/', 1)[-1]}}}", expression))


def xp(expression: str) -> str:
    """An expression without whitespace outside string literals: pyxform pads the paths it writes with spaces."""
    return _QUOTED_OR_SPACE.sub(lambda m: m.group(1) or "", expression)


@pytest.fixture(scope="module")
def xform() -> XForm:
    converted = convert(WORKBOOK.read_bytes(), file_type=".xlsx")
    assert converted.warnings == []
    return XForm(converted.xform)


def _choices() -> list[dict[str, str]]:
    rows = read_sheets(SOURCE)["choices"]
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _ascii_name(vietnamese: str) -> str:
    """The English spelling of a place name: Đ/đ become D/d (NFD has no decomposition for them), marks go."""
    text = vietnamese.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def test_every_choice_has_an_english_label_starting_with_a_capital() -> None:
    for choice in _choices():
        english = choice["label::English (en)"]
        assert english.strip() == english != "", choice
        assert english[0].isupper(), choice


def test_place_names_in_english_are_ascii_transliterations_unique_per_district() -> None:
    places = [c for c in _choices() if c["list_name"] in {"district", "commune"}]
    for place in places:
        english = place["label::English (en)"]
        base, _, qualifier = english.partition(" (")
        assert base.isascii(), english
        if place["list_name"] == "commune":
            vietnamese = place["label::Tiếng Việt (vi)"]
            kind = next(k for k in _PLACE_KINDS if vietnamese.startswith(k + " "))
            assert base == f"{_ascii_name(vietnamese.removeprefix(kind + ' '))} {_PLACE_KINDS[kind]}", english
            # A qualifier (the Vietnamese name) only where two communes of a district would read the same.
            assert not qualifier or qualifier == f"{vietnamese.removeprefix(kind + ' ')})", english
    communes = [c for c in places if c["list_name"] == "commune"]
    per_district = Counter((c["district"], c["label::English (en)"]) for c in communes)
    assert [key for key, n in per_district.items() if n > 1] == []
    bases = Counter((c["district"], c["label::English (en)"].partition(" (")[0]) for c in communes)
    qualified = {c["name"] for c in communes if "(" in c["label::English (en)"]}
    assert qualified == {c["name"] for c in communes if bases[(c["district"], c["label::English (en)"])] == 0}
    assert qualified == {"20008", "20011"}  # Hương Vân and Hương Văn, both "Huong Van Ward" without marks


def test_income_never_entered_is_not_zero(xform: XForm) -> None:
    assert {i["name"] for i in xform.items("income_known")} == {"yes", "refused", "dont_know"}
    assert xform.bind("income_known")["required"] == "true()"
    for name in INCOME:
        bind = xform.bind(name)
        assert bind["relevant"] == xp("${income_known} ='yes'")
        assert bind["required"] == "true()"
    instance = next(i for i in xform.root.iter("{*}instance") if i.get("id") is None)
    defaults = {etree.QName(n).localname: n.text for n in instance.iter() if etree.QName(n).localname in INCOME}
    assert defaults == dict.fromkeys(INCOME)  # no 0 defaults
    per_capita = xform.bind("inc_pc_month")["calculate"]
    assert per_capita.startswith(xp("if(${income_known} ='yes' and ${inc_agri} != ''"))
    assert per_capita.endswith(xp(", '')"))
    classification = xform.bind("classification")["calculate"]
    assert xp("if(${inc_pc_month} ='', 'unclassified'") in classification


def test_age_bands_follow_the_2023_retirement_ages_and_count_a_member_once(xform: XForm) -> None:
    working = xform.bind("m_working_age")["calculate"]
    assert working == xp(
        "if(${m_age} >= 15 and ((${m_sex} ='male' and ${m_age} <= 60) or "
        "(${m_sex} ='female' and ${m_age} <= 55)), 1, 0)"
    )
    over = xform.bind("m_over_age")["calculate"]
    assert over == xp("if((${m_sex} ='male' and ${m_age} >= 61) or (${m_sex} ='female' and ${m_age} >= 56), 1, 0)")
    dependant = xform.bind("m_dep")["calculate"]
    # Children (< 15), working age only when unable to work, past retirement unless working or pensioned.
    assert dependant.startswith(xp("if(${m_age} < 15 or (${m_working_age} =1 and ${m_work_cap} != 'able')"))
    assert xp("${m_over_age} =1 and ${m_pension} != 'yes'") in dependant
    assert xp("${m_age} >= 60") not in dependant
    assert xp("< 16") not in dependant
    assert xform.bind("m_d_job")["calculate"].startswith(xp("if(${m_working_age} =1 and"))
    # Work is asked of every able member from 15 up, and the pension of those past retirement age.
    assert xform.bind("m_job")["relevant"] == xp("${m_age} >= 15 and ${m_work_cap} ='able'")
    assert xform.bind("m_pension")["relevant"] == xp("${m_over_age} =1")


def test_school_choices_depend_on_age(xform: XForm) -> None:
    assert xform.itemset("m_school") == xp(
        "instance('school')/root/item[age_group='all' or age_group=if( ${m_age} < 16, 'child', 'youth')]"
    )
    groups = {item["name"]: item["age_group"] for item in xform.items("school")}
    assert groups == {"right_level": "child", "wrong_level": "child", "studying": "youth", "not_attending": "all"}


def test_the_quick_screen_comes_first_and_ends_the_interview(xform: XForm) -> None:
    order = xform.top_level_order()
    assert order.index("g_screen") == order.index("g_intro") + 1
    assert xform.bind("g_screen")["relevant"] == xp("${consent} ='yes'")
    assert {i["name"] for i in xform.items("screen_sign")} >= {"salaried", "pension", "car", "none"}
    assert xp("not(selected(${screen_signs}, 'none'))") in xform.bind("screened_out")["calculate"]
    for later in ("members", "g_income", "g_services", "g_house"):
        assert xform.bind(later)["relevant"] == xp("${consent} ='yes' and ${screened_out} ='no'"), later
    # Location and identity are still asked: the screened-out household is on record and in its reviewers' scope.
    for kept in ("g_loc", "g_hh"):
        assert xform.bind(kept)["relevant"] == xp("${consent} ='yes'"), kept
    assert xform.bind("classification")["calculate"].startswith(xp("if(${screened_out} ='yes', 'screened_out'"))


def test_temporary_house_rules_2023_and_2025(xform: XForm) -> None:
    rule_2023 = xform.bind("temp_house_2023")["calculate"]
    for condition in (
        xp("(${classification} ='poor' or ${classification} ='near_poor')"),
        xp("${poor_district} ='yes'"),
        xp("${land_ok} ='yes'"),
        xp("${prior_housing_support} ='no'"),
        xp("(${house_tenure} ='none' or ${n_nondurable} >=2 or ${area_pc} <8)"),
    ):
        assert condition in rule_2023
    assert "dilapidated" not in rule_2023
    assert xform.bind("poor_district")["calculate"] == xp("if(${district} ='481', 'yes', 'no')")
    rule_2025 = xform.bind("temp_house_2025")["calculate"]
    assert xp("${house_condition} ='dilapidated'") in rule_2025
    assert xp("(${hh_size} =1 and ${house_area} <18)") in rule_2025
    assert xform.bind("temp_house_flag")["calculate"] == xp("${temp_house_2023}")
    # Asked of every household (the plot matters when there is no house), with "don't know" for earlier support.
    assert "relevant" not in xform.bind("land_ok")
    assert xform.bind("prior_housing_support")["required"] == "true()"
    assert {i["name"] for i in xform.items("yes_no_dk")} == {"yes", "no", "dk"}


def test_house_evidence_dimensions_photos_and_class_check(xform: XForm) -> None:
    for name in ("house_length", "house_width"):
        assert xform.bind(name)["type"] == "decimal"
        assert xform.bind(name)["relevant"] == xp("${house_tenure} != 'none'")
    assert xform.bind("house_footprint")["calculate"] == xp("round(${house_length} * ${house_width} , 1)")
    assert xp("1.25 * ${house_footprint}") in xform.bind("area_mismatch")["calculate"]
    for photo in ("photo_front", "photo_roof", "photo_interior"):
        assert xform.bind(photo)["required"] == xp("${temp_house_2023} ='yes'")
    assert "required" not in xform.bind("photo_extra")
    assert xform.bind("house_class_expected")["calculate"] == xp(
        "if(${n_nondurable} =0, 'kien_co', if(${n_nondurable} =1, 'ban_kien_co', "
        "if(${n_nondurable} =2, 'thieu_kien_co', 'don_so')))"
    )
    assert xform.bind("house_class_consistent")["calculate"] == xp(
        "if(${house_class} = ${house_class_expected} , 'yes', 'no')"
    )
    assert xform.bind("house_class_warning")["relevant"].endswith(xp("${house_class_consistent} ='no'"))


def test_household_identity_lasts_across_years(xform: XForm) -> None:
    assert xform.bind("hh_uuid")["calculate"] == xp("once(uuid())")
    household_id = xform.bind("hh_id")["calculate"]
    assert household_id == xp(
        "if(string-length( ${hh_code_prior} ) > 0, ${hh_code_prior} , "
        "concat('46-', ${commune} , '-', substr( ${hh_uuid} , 24)))"
    )
    assert "village" not in household_id  # two "other" villages of one commune no longer collide
    assert "required" not in xform.bind("hh_code_prior")
