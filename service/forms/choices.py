"""Choice lists read back out of a published XForm: the items of the select behind a field, with their labels in
every language and their extra columns (a commune's `district`, a village's `commune`).

pyxform writes a choice list as a secondary instance (`<instance id="commune"><root><item><name>19750</name>
<district>474</district><itextId>commune-0</itextId>…`) with labels in the itext translations, or, for
`select_one_from_file`, as an instance whose `src` names a CSV form attachment.
"""

from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING

import msgspec

from service.safexml import children, first_child, local_name, parse_untrusted, text_of

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["Choice", "ChoiceSource", "choice_source", "csv_choices", "instance_choices"]

_INSTANCE_REF = re.compile(r"instance\(\s*['\"]([^'\"]+)['\"]\s*\)")
_ENGLISH = re.compile(r"\(en\)|english", re.IGNORECASE)


class Choice(msgspec.Struct, frozen=True):
    name: str
    label: str
    label_en: str | None
    columns: dict[str, str]


class ChoiceSource(msgspec.Struct, frozen=True):
    """Where the items of a select come from: a secondary instance of the form, or a CSV attachment (`src`)."""

    instance_id: str
    csv_file: str | None


def _model(root: etree._Element) -> etree._Element | None:
    return first_child(first_child(root, "head"), "model")


def choice_source(xform: bytes, field_path: str) -> ChoiceSource | None:
    """The list behind the select bound to `field_path`, or None when it is not a select from a list."""
    root = parse_untrusted(xform)
    body = first_child(root, "body")
    model = _model(root)
    if body is None or model is None:
        return None
    for control in body.iter():
        if local_name(control.tag) not in {"select1", "select"} or (control.get("ref") or "").strip() != field_path:
            continue
        itemset = first_child(control, "itemset")
        match = _INSTANCE_REF.search(itemset.get("nodeset", "")) if itemset is not None else None
        if match is None:
            return None
        instance = next((i for i in children(model, "instance") if i.get("id") == match[1]), None)
        source = (instance.get("src") or "") if instance is not None else ""
        csv_file = source.rsplit("/", 1)[-1] if source.startswith("jr://file-csv/") else None
        return ChoiceSource(instance_id=match[1], csv_file=csv_file)
    return None


def _translations(model: etree._Element) -> tuple[dict[str, str], dict[str, str]]:
    """(default language's texts, English texts) by itext id."""
    itext = first_child(model, "itext")
    if itext is None:
        return {}, {}
    languages = list(children(itext, "translation"))
    default = next((t for t in languages if (t.get("default") or "").startswith("true")), None)
    default = default if default is not None else (languages[0] if languages else None)
    english = next((t for t in languages if _ENGLISH.search(t.get("lang") or "")), None)

    def texts(translation: etree._Element | None) -> dict[str, str]:
        if translation is None:
            return {}
        found = {}
        for text in children(translation, "text"):
            value = first_child(text, "value")
            if text.get("id") and value is not None:
                found[text.get("id", "")] = "".join(str(part) for part in value.itertext()).strip()
        return found

    return texts(default), texts(english)


def instance_choices(xform: bytes, instance_id: str) -> list[Choice]:
    root = parse_untrusted(xform)
    model = _model(root)
    if model is None:
        return []
    instance = next((i for i in children(model, "instance") if i.get("id") == instance_id), None)
    items_root = next(children(instance), None) if instance is not None else None
    if items_root is None:
        return []
    default, english = _translations(model)
    choices = []
    for item in children(items_root, "item"):
        values = {local_name(child.tag): text_of(child) or "" for child in children(item)}
        name = values.pop("name", "")
        itext_id = values.pop("itextId", None)
        label = values.pop("label", None) or (default.get(itext_id, "") if itext_id else "")
        if not name:
            continue
        choices.append(
            Choice(
                name=name,
                label=label or name,
                label_en=english.get(itext_id) if itext_id else None,
                columns=values,
            )
        )
    return choices


def csv_choices(data: bytes) -> list[Choice]:
    """Items of a CSV form attachment: `name`, `label` (or `label::<language>` columns), and any other column."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    choices = []
    for row in reader:
        name = (row.pop("name", "") or "").strip()
        if not name:
            continue
        labels = {key: (row.pop(key) or "").strip() for key in list(row) if key and key.startswith("label")}
        english = next((v for k, v in labels.items() if _ENGLISH.search(k)), None)
        label = labels.get("label") or next((v for k, v in labels.items() if v and not _ENGLISH.search(k)), name)
        columns = {key: (value or "").strip() for key, value in row.items() if key}
        choices.append(Choice(name=name, label=label, label_en=english, columns=columns))
    return choices
