"""A household's answers as a reviewer reads them: labelled in their language, choices by their labels, numbers
and places written out; the example form's key answers first, every answer in a list (any form).

Answers are the nested JSON that ingest stores (groups as objects, repeats as lists of objects, geopoints as GeoJSON);
field paths are /<root>/<group>/<name> as in the form's schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from .i18n import MESSAGES
from .models import AnswerView, DiffView

if TYPE_CHECKING:
    from .i18n import Translator
    from .labels import FormLabels

__all__ = ["Answer", "all_answers", "answer_diffs", "flatten", "key_answers", "photo_fields"]

_INCOME_FIELDS = ("inc_agri", "inc_wage", "inc_business", "inc_pension", "inc_other")
_HOUSE_FIELDS = ("house_tenure", "house_class", "floor_material", "wall_material", "roof_material")
# The example form is recognised by its answers, so a copy of it under another form id works too.
_EXAMPLE_MARKERS = ("head_name", "hh_size", "house_tenure", "temp_house_flag", "classification")


class Answer(msgspec.Struct, frozen=True):
    path: str  # the field's path in the schema (repeat indexes dropped)
    name: str
    value: Any
    index: int | None  # 1-based position within a repeat
    repeat: str | None  # the repeat's path, for an answer inside one


def flatten(answers: dict[str, Any], labels: FormLabels) -> list[Answer]:
    """Every answer with a value, in the form's order (stored answers are JSONB, whose keys have lost it); the meta
    group is the server's, not the household's."""
    root = f"/{labels.root}"
    found: list[Answer] = []

    def walk(node: dict[str, Any], path: str, index: int | None, repeat: str | None) -> None:
        for name, value in node.items():
            child = f"{path}/{name}"
            if name == "meta" and path == root:
                continue
            if isinstance(value, dict) and value.get("type") != "Point":
                walk(value, child, index, repeat)
            elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
                for number, item in enumerate(value, start=1):
                    walk(item, child, number, child)
            elif value is not None and value not in ([], ""):
                found.append(Answer(path=child, name=name, value=value, index=index, repeat=repeat))

    walk(answers, root, None, None)
    last = len(labels.order)

    def place(answer: Answer) -> tuple[int, int, int, str]:
        position = labels.order.get(answer.path, last)
        outer = labels.order.get(answer.repeat, last) if answer.repeat else position
        return outer, answer.index or 0, position, answer.path

    return sorted(found, key=place)


def photo_fields(answers: dict[str, Any], labels: FormLabels, files: set[str]) -> dict[str, Answer]:
    """File name → the answer that names it (in the form's order: front, roof, inside, …)."""
    return {a.value: a for a in flatten(answers, labels) if isinstance(a.value, str) and a.value in files}


def format_value(value: Any, path: str, labels: FormLabels, t: Translator) -> str:
    if isinstance(value, bool):
        return t("answer.yes") if value else t("answer.no")
    if isinstance(value, int):
        # Years and small counts read better without a thousands separator.
        return t.number(value) if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return t.number(value, 0 if value.is_integer() else 2)
    if isinstance(value, dict) and value.get("type") == "Point":
        lon, lat = value["coordinates"][0], value["coordinates"][1]
        accuracy = value.get("properties", {}).get("accuracy")
        where = f"{lat:.6f}, {lon:.6f}"
        return f"{where} (±{t.number(accuracy, 1)} m)" if isinstance(accuracy, int | float) else where
    if isinstance(value, list):
        return ", ".join(format_value(item, path, labels, t) for item in value)
    if isinstance(value, str):
        return labels.choice(path, value, t.lang) or value
    return str(value)


def _label(answer: Answer, labels: FormLabels, t: Translator) -> str:
    label = labels.field(answer.path, t.lang) or answer.name
    return f"{label} #{answer.index}" if answer.index is not None else label


def all_answers(
    answers: dict[str, Any], labels: FormLabels, t: Translator, *, skip: set[str]
) -> tuple[list[AnswerView], list[AnswerView]]:
    """Every answer (files excepted: they are shown as photos): those to questions the form asks, with their labels,
    and the values it calculates or records by itself (no label; shown by name)."""
    asked: list[AnswerView] = []
    calculated: list[AnswerView] = []
    for a in flatten(answers, labels):
        if isinstance(a.value, str) and a.value in skip:
            continue
        view = AnswerView(label=_label(a, labels, t), value=format_value(a.value, a.path, labels, t))
        (asked if labels.field(a.path, t.lang) else calculated).append(view)
    return asked, calculated


def _first(found: list[Answer], name: str) -> Answer | None:
    return next((a for a in found if a.name == name and a.index is None), None)


def key_answers(answers: dict[str, Any], labels: FormLabels, t: Translator) -> list[AnswerView]:
    """The example form's answers a reviewer checks against the photos; empty for a form that is not like it."""
    found = flatten(answers, labels)
    names = {a.name for a in found}
    if sum(marker in names for marker in _EXAMPLE_MARKERS) < 3:
        return []
    shown: list[AnswerView] = []

    def plain(name: str, unit: str | None = None) -> None:
        answer = _first(found, name)
        if answer is not None:
            value = format_value(answer.value, answer.path, labels, t)
            shown.append(AnswerView(label=_label(answer, labels, t), value=t(unit, n=value) if unit else value))

    plain("head_name")
    plain("hh_size")
    members = [a for a in found if a.index is not None and a.path.endswith("/m_name")]
    if members:
        shown.append(
            AnswerView(label=t("answer.members"), value="; ".join(_member(found, m, labels, t) for m in members))
        )
    shown += _income(found, t)
    for name in _HOUSE_FIELDS:
        plain(name)
    plain("house_area", "answer.m2")
    flag = _first(found, "temp_house_flag")
    if flag is not None:
        temporary = flag.value == "yes"
        shown.append(
            AnswerView(
                label=t("answer.temp_house"), value=t("answer.yes" if temporary else "answer.no"), highlight=temporary
            )
        )
    classification = _first(found, "classification")
    if classification is not None:
        key = f"class.{classification.value}"
        value = t(key) if key in MESSAGES else str(classification.value)
        deprivations = _first(found, "dep_count")
        if deprivations is not None:
            value = f"{value} ({t('answer.deprivations', n=deprivations.value)})"
        shown.append(AnswerView(label=t("answer.classification"), value=value))
    return shown


def _income(found: list[Answer], t: Translator) -> list[AnswerView]:
    """The year's income (the form asks in thousand đồng) and the per-person monthly income it calculates."""
    shown = []
    incomes = [a.value for a in found if a.name in _INCOME_FIELDS and isinstance(a.value, int | float)]
    if incomes:
        shown.append(AnswerView(label=t("answer.income_year"), value=t("answer.vnd", n=t.number(sum(incomes) * 1000))))
    per_person = _first(found, "inc_pc_month")
    if per_person is not None:
        try:
            amount = float(per_person.value)
        except (TypeError, ValueError):
            return shown
        shown.append(AnswerView(label=t("answer.income_pc"), value=t("answer.vnd", n=t.number(amount))))
    return shown


def _member(found: list[Answer], name: Answer, labels: FormLabels, t: Translator) -> str:
    base = name.path.rsplit("/", 1)[0]
    siblings = {a.name: a for a in found if a.index == name.index and a.path.startswith(f"{base}/")}
    relation = siblings.get("m_rel")
    age = siblings.get("m_age")
    return t(
        "answer.member",
        name=name.value,
        relation=format_value(relation.value, relation.path, labels, t) if relation else "?",
        age=age.value if age else "?",
    )


def answer_diffs(changes: list[tuple[list[str | int], Any, Any]], labels: FormLabels, t: Translator) -> list[DiffView]:
    """Changed answers between two versions: (path within the answers, old, new)."""
    shown = []
    for path, old, new in changes:
        keys = [str(key) for key in path if not isinstance(key, int)]
        schema_path = "/".join([f"/{labels.root}", *keys])
        label = labels.field(schema_path, t.lang) or (keys[-1] if keys else "?")
        indexes = [key for key in path if isinstance(key, int)]
        if indexes:
            label = f"{label} #{indexes[-1] + 1}"
        shown.append(
            DiffView(
                field=label,
                old=t("household.none") if old is None else format_value(old, schema_path, labels, t),
                new=t("household.none") if new is None else format_value(new, schema_path, labels, t),
            )
        )
    return shown
