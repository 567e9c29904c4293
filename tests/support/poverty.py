"""Households of the example form (household_poverty_review_2023): answers as ingest stores them, and the
submission XML a phone would send for them.

The baseline is a near-poor household in A Lưới (rural): income 250,000 VND per person per month, two deprivations
(d07 housing quality, d09 water), dependants exactly half the members, and a house that qualifies for support under
both rules. Tests change one thing at a time with `household(...)` and `member(...)`.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from forms.build_xlsx import FORMS_DIR, read_sheets
from tests.support.submission import new_instance_id

__all__ = ["FORM_ID", "FORM_VERSION", "household", "member", "submission_xml"]

FORM_ID = "household_poverty_review_2023"
# The published version (the form's settings sheet): the phone names it in every submission.
FORM_VERSION = dict(zip(*read_sheets(FORMS_DIR / FORM_ID)["settings"], strict=True))["version"]
_NAMESPACES = 'xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms"'


def member(name: str, relation: str, sex: str, age: int, **answers: Any) -> dict[str, Any]:
    """A roster row with only the questions the form asks at that age (non-relevant ones are absent)."""
    row: dict[str, Any] = {"m_name": name, "m_rel": relation, "m_sex": sex, "m_age": age}
    if age >= 6:
        row["m_edu"] = "2"
        row["m_bhyt"] = "yes"
    if 3 <= age <= 30:
        row["m_school"] = "right_level" if age < 16 else "not_attending"
    if age >= 15:
        row["m_work_cap"] = "able"
        row["m_job"] = "own_farm"
    last_working_age = 60 if sex == "male" else 55
    if age > last_working_age:
        row["m_pension"] = "no"
    if age < 16:
        row["m_malnut"] = "no"
    row.update(answers)
    if row.get("m_work_cap", "able") != "able":
        row.pop("m_job", None)
    return {key: value for key, value in row.items() if value is not ...}


def baseline_members() -> list[dict[str, Any]]:
    return [
        member("Hồ Văn A", "head", "male", 40),
        member("Lê Thị B", "spouse", "female", 38, m_edu="1"),
        member("Hồ Văn C", "child", "male", 10, m_edu="1"),
        member("Hồ Thị D", "parent", "female", 70, m_edu="0", m_work_cap="elderly_weak"),
    ]


def household(
    *,
    members: list[dict[str, Any]] | None = None,
    consent: str = "yes",
    screen_signs: list[str] | None = None,
    district: str = "481",
    commune: str = "20047",
    income: dict[str, int | None] | None = None,
    income_known: str | None = "yes",
    provisional: str | None = "near_poor",
    **answers: Any,
) -> dict[str, Any]:
    """The baseline household with changes. `income` overrides sources (thousand VND a year; None: unanswered);
    other keyword arguments replace answers by name wherever they live (`...` removes one)."""
    roster = members if members is not None else baseline_members()
    sources: dict[str, int | None] = {
        "inc_agri": 12_000,
        "inc_wage": 0,
        "inc_business": 0,
        "inc_pension": 0,
        "inc_other": 0,
    }
    sources.update(income or {})
    data: dict[str, Any] = {
        "g_intro": {"enum_name": "Rà soát viên", "review_date": "2023-10-02", "review_type": "periodic"},
        "g_screen": {"screen_signs": screen_signs or ["none"], "screened_out": "no"},
        "g_loc": {
            "district": district,
            "commune": commune,
            "area_type": "rural",
            "village": f"{commune}-01",
            "hh_gps": {"type": "Point", "coordinates": [107.2931, 16.2154, 560.0], "properties": {"accuracy": 4.5}},
        },
        "g_hh": {"hh_no": 7, "hh_uuid": "uuid:0b8f1c8e-1b7a-4c1e-9d7b-3f2a9c4d5e6f", "head_name": "Hồ Văn A"},
        "members": roster,
        "g_income": {"income_known": income_known, **sources, "income_plausible": "yes"},
        "g_services": {
            "water_source": "unprotected",
            "toilet_type": "septic",
            "internet_use": "yes",
            "info_devices": ["phone"],
        },
        "g_house": {
            "house_tenure": "owned",
            "floor_material": "n_earth",
            "wall_material": "n_bamboo",
            "roof_material": "d_sheet_firm",
            "house_class": "thieu_kien_co",
            "house_length": 6.0,
            "house_width": 6.0,
            "house_area": 36.0,
            "house_condition": "degraded",
            "land_ok": "yes",
            "prior_housing_support": "no",
        },
        "g_result": {"classification": provisional},
    }
    data["g_intro"]["consent"] = consent
    data["g_hh"]["hh_size"] = len(roster)
    if income_known != "yes":
        for name in sources:
            data["g_income"].pop(name)
    for name, value in answers.items():
        _replace(data, name, value)
    return data


def _replace(data: dict[str, Any], name: str, value: Any) -> None:
    for group in data.values():
        if isinstance(group, dict) and name in group:
            if value is ...:
                del group[name]
            else:
                group[name] = value
            return
    raise KeyError(f"no answer {name} in the example household")


def submission_xml(
    answers: dict[str, Any],
    *,
    instance_id: str | None = None,
    deprecated_id: str | None = None,
    version: str = FORM_VERSION,
) -> bytes:
    """The instance a phone sends for these answers (groups nested, one element per member, lists space-separated)."""
    instance_id = instance_id or new_instance_id()
    deprecated = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    body = "".join(_element(name, value) for name, value in answers.items())
    return (
        f'<data id="{FORM_ID}" version="{version}" {_NAMESPACES}>{body}'
        f"<meta><instanceID>{instance_id}</instanceID>{deprecated}</meta></data>"
    ).encode()


def _element(name: str, value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return "".join(_element(name, item) for item in value)
    if isinstance(value, dict) and value.get("type") == "Point":
        lon, lat, alt = value["coordinates"]
        return f"<{name}>{lat} {lon} {alt} {value['properties']['accuracy']}</{name}>"
    if isinstance(value, dict):
        return f"<{name}>{''.join(_element(k, v) for k, v in value.items())}</{name}>"
    if value is None:
        return f"<{name}/>"
    text = " ".join(value) if isinstance(value, list) else str(value)
    return f"<{name}>{escape(text)}</{name}>"
