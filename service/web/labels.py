"""A form's labels in Vietnamese and English, read from its XForm: each field's label and each choice's label.

XLSForm's `label::Tiếng Việt (vi)` and `label::English (en)` columns become itext translations; a form without
translations has plain labels, used for both languages. Parsed once per form version (keyed by the XForm's md5),
in a thread (the example form's XForm is over 100 KB), with the hardened parser.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

import msgspec

from service.safexml import XmlRefused, attribute, children, first_child, local_name, parse_untrusted

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["FormLabels", "form_labels", "parse_labels"]

LANGS = ("vi", "en")
_ITEXT_REF = re.compile(r"""jr:itext\(\s*'([^']+)'\s*\)""")
_INSTANCE_REF = re.compile(r"""instance\(\s*'([^']+)'\s*\)""")
_CACHE_SIZE = 16


class FormLabels(msgspec.Struct, frozen=True):
    title: str
    root: str
    # field path → language → label
    fields: dict[str, dict[str, str]]
    # field path → choice value → language → label
    choices: dict[str, dict[str, dict[str, str]]]
    # Every path of the primary instance (groups, repeats, fields) → its place in the document
    order: dict[str, int] = {}

    def field(self, path: str, lang: str) -> str | None:
        found = self.fields.get(path)
        return _pick(found, lang) if found else None

    def choice(self, path: str, value: str, lang: str) -> str | None:
        found = self.choices.get(path, {}).get(value)
        return _pick(found, lang) if found else None


def _pick(texts: dict[str, str], lang: str) -> str | None:
    return texts.get(lang) or texts.get("") or next(iter(texts.values()), None)


def _language(name: str | None) -> str:
    """`Tiếng Việt (vi)` → vi, `English (en)` → en; anything else is the form's only language ('')."""
    lowered = (name or "").lower()
    for lang in LANGS:
        if f"({lang})" in lowered:
            return lang
    if lowered.startswith(("vi", "tiếng việt")):
        return "vi"
    if lowered.startswith("en"):
        return "en"
    return ""


def _all_text(element: etree._Element) -> str:
    return "".join(str(part) for part in element.itertext()).strip()


def _texts(model: etree._Element | None) -> dict[str, dict[str, str]]:
    """itext id → language → text (the plain form of each text, not its media)."""
    found: dict[str, dict[str, str]] = {}
    itext = first_child(model, "itext")
    if itext is None:
        return found
    for translation in children(itext, "translation"):
        lang = _language(translation.get("lang"))
        for text in children(translation, "text"):
            text_id = text.get("id")
            value = next((v for v in children(text, "value") if v.get("form") is None), None)
            if text_id and value is not None:
                content = _all_text(value)
                if content:
                    found.setdefault(text_id, {})[lang] = content
    return found


def _label(element: etree._Element, texts: dict[str, dict[str, str]]) -> dict[str, str] | None:
    label = first_child(element, "label")
    if label is None:
        return None
    ref = label.get("ref") or ""
    match = _ITEXT_REF.search(ref)
    if match:
        return texts.get(match.group(1))
    content = _all_text(label)
    return {"": content} if content else None


def _instance_items(
    model: etree._Element | None, texts: dict[str, dict[str, str]]
) -> dict[str, dict[str, dict[str, str]]]:
    """Secondary instance id → choice value → language → label (pyxform's itemsets)."""
    found: dict[str, dict[str, dict[str, str]]] = {}
    if model is None:
        return found
    for instance in children(model, "instance"):
        instance_id = instance.get("id")
        root = next(children(instance), None)
        if not instance_id or root is None:
            continue
        items: dict[str, dict[str, str]] = {}
        for item in children(root, "item"):
            name = first_child(item, "name")
            if name is None or not (name.text or "").strip():
                continue
            itext_id = first_child(item, "itextId")
            label = first_child(item, "label")
            if itext_id is not None and (itext_id.text or "").strip() in texts:
                items[(name.text or "").strip()] = texts[(itext_id.text or "").strip()]
            elif label is not None and (label.text or "").strip():
                items[(name.text or "").strip()] = {"": (label.text or "").strip()}
        found[instance_id] = items
    return found


def _choices(
    control: etree._Element, texts: dict[str, dict[str, str]], instances: dict[str, dict[str, dict[str, str]]]
) -> dict[str, dict[str, str]]:
    itemset = first_child(control, "itemset")
    if itemset is not None:
        match = _INSTANCE_REF.search(itemset.get("nodeset") or "")
        return instances.get(match.group(1), {}) if match else {}
    found: dict[str, dict[str, str]] = {}
    for item in children(control, "item"):
        value = first_child(item, "value")
        label = _label(item, texts)
        if value is not None and (value.text or "").strip() and label:
            found[(value.text or "").strip()] = label
    return found


def parse_labels(xml: bytes) -> FormLabels:
    try:
        html = parse_untrusted(xml)
    except XmlRefused:
        return FormLabels(title="", root="data", fields={}, choices={})
    head = first_child(html, "head")
    model = first_child(head, "model")
    body = first_child(html, "body")
    primary = next((i for i in children(model, "instance") if i.get("id") is None), None) if model is not None else None
    root = next(children(primary), None) if primary is not None else None
    texts = _texts(model)
    instances = _instance_items(model, texts)
    fields: dict[str, dict[str, str]] = {}
    choices: dict[str, dict[str, dict[str, str]]] = {}
    for control in body.iter() if body is not None else ():
        ref = attribute(control, "ref") or attribute(control, "nodeset")
        if not ref or not ref.startswith("/"):
            continue
        label = _label(control, texts)
        if label:
            fields.setdefault(ref, label)
        if local_name(control.tag) in {"select", "select1", "rank"}:
            found = _choices(control, texts, instances)
            if found:
                choices[ref] = found
    order: dict[str, int] = {}
    if root is not None:
        _number(root, f"/{local_name(root.tag)}", order)
    title = first_child(head, "title")
    return FormLabels(
        title=(title.text or "").strip() if title is not None else "",
        root=local_name(root.tag) if root is not None else "data",
        fields=fields,
        choices=choices,
        order=order,
    )


def _number(element: etree._Element, path: str, order: dict[str, int]) -> None:
    for child in children(element):
        child_path = f"{path}/{local_name(child.tag)}"
        order.setdefault(child_path, len(order))
        _number(child, child_path, order)


_cache: dict[str, FormLabels] = {}


async def form_labels(xml: str, md5: str) -> FormLabels:
    """The labels of one form version; parsed off the event loop once, then kept (a few versions at most)."""
    found = _cache.get(md5)
    if found is None:
        found = await asyncio.to_thread(parse_labels, xml.encode("utf-8"))
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[md5] = found
    return found
