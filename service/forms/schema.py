"""What ingestion and exports need to know about an XForm, read once at upload and stored as JSONB.

Uploaded XForms are untrusted: they are read with the hardened parser of service/safexml.py, and elements are
matched by local name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

import msgspec

from service.safexml import XmlRefused, attribute, children, first_child, local_name, parse_untrusted

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lxml import etree

__all__ = ["FormField", "FormMedia", "FormSchema", "FormXmlError", "parse_xform", "schema_decoder"]

_MEDIA_SCHEMES: dict[str, Literal["image", "audio", "video", "file"]] = {
    "jr://images/": "image",
    "jr://image/": "image",
    "jr://audio/": "audio",
    "jr://video/": "video",
    "jr://file/": "file",
    "jr://file-csv/": "file",
}
_SEARCH_APPEARANCE = re.compile(r"search\(\s*['\"]([^'\"]+)['\"]")
_GEO_TYPES = frozenset({"geopoint", "geotrace", "geoshape"})


class FormXmlError(ValueError):
    """The document is not a usable XForm; the message says why."""


class FormField(msgspec.Struct, frozen=True, omit_defaults=True):
    path: str
    name: str
    type: str
    kind: Literal["field", "group", "repeat"] = "field"
    binary: bool = False
    select_multiple: bool = False
    geo: bool = False
    mediatype: str | None = None
    max_pixels: int | None = None
    required: bool = False
    calculated: bool = False


class FormMedia(msgspec.Struct, frozen=True):
    name: str
    kind: Literal["image", "audio", "video", "file"]


class FormSchema(msgspec.Struct, frozen=True, omit_defaults=True):
    xml_form_id: str
    version: str
    title: str
    root: str
    fields: list[FormField]
    media: list[FormMedia] = []
    repeats: list[str] = []
    base64_public_key: str | None = None
    submission_url: str | None = None
    xforms_version: str | None = None
    entities_version: str | None = None
    entity_lists: list[str] = []
    meta: dict[str, str] = {}

    @property
    def binary_paths(self) -> list[str]:
        return [f.path for f in self.fields if f.binary]

    @property
    def geo_paths(self) -> list[str]:
        return [f.path for f in self.fields if f.geo]


schema_decoder = msgspec.json.Decoder(FormSchema)


def parse_xform(xml: bytes) -> FormSchema:
    try:
        html = parse_untrusted(xml)
    except XmlRefused as exc:
        raise FormXmlError(exc.reason) from None
    head = first_child(html, "head")
    model = first_child(head, "model")
    body = first_child(html, "body")
    if head is None or model is None:
        raise FormXmlError("the document has no h:head/model, so it is not an XForm")
    instance = next((i for i in children(model, "instance") if i.get("id") is None), None)
    root = next(children(instance), None) if instance is not None else None
    if root is None:
        raise FormXmlError("the form has no primary instance")
    xml_form_id = (root.get("id") or "").strip()
    if not xml_form_id:
        raise FormXmlError("the primary instance has no id attribute (the form id)")
    title_element = first_child(head, "title")
    submission = first_child(model, "submission")
    binds = {b.get("nodeset", "").strip(): b for b in model.iter() if local_name(b.tag) == "bind"}
    controls = _body_controls(body)
    root_path = f"/{local_name(root.tag)}"
    fields = list(_walk(root, root_path, binds, controls))
    meta = {f.name: f.path for f in fields if f.path.startswith(f"{root_path}/meta/")}
    return FormSchema(
        xml_form_id=xml_form_id,
        version=(attribute(root, "version") or "").strip(),
        title=(title_element.text or "").strip() if title_element is not None else "",
        root=local_name(root.tag),
        fields=fields,
        media=_media(model, body),
        repeats=[f.path for f in fields if f.kind == "repeat"],
        base64_public_key=attribute(submission, "base64RsaPublicKey") if submission is not None else None,
        submission_url=attribute(submission, "action") if submission is not None else None,
        xforms_version=attribute(model, "xforms-version"),
        entities_version=attribute(model, "entities-version"),
        entity_lists=_entity_lists(root),
        meta=meta,
    )


class _Controls(msgspec.Struct):
    repeats: set[str]
    selects: set[str]
    uploads: dict[str, str]


def _body_controls(body: etree._Element | None) -> _Controls:
    controls = _Controls(repeats=set(), selects=set(), uploads={})
    if body is None:
        return controls
    for element in body.iter():
        local = local_name(element.tag)
        if local == "repeat":
            controls.repeats.add(element.get("nodeset", "").strip())
        elif local == "select":
            controls.selects.add(element.get("ref", "").strip())
        elif local == "upload":
            controls.uploads[element.get("ref", "").strip()] = element.get("mediatype", "")
    return controls


def _walk(
    element: etree._Element, path: str, binds: dict[str, etree._Element], controls: _Controls
) -> Iterator[FormField]:
    seen: set[str] = set()
    for child in children(element):
        child_path = f"{path}/{local_name(child.tag)}"
        if child_path in seen:
            continue  # a repeat's template and its first instance
        seen.add(child_path)
        bind = binds.get(child_path)
        if child_path in controls.repeats or attribute(child, "template") is not None:
            yield FormField(path=child_path, name=local_name(child.tag), type="structure", kind="repeat")
            yield from _walk(child, child_path, binds, controls)
        elif next(children(child), None) is not None:
            # Anything with element children is a group (a bind on it only carries relevance).
            yield FormField(path=child_path, name=local_name(child.tag), type="structure", kind="group")
            yield from _walk(child, child_path, binds, controls)
        else:
            yield _field(child_path, local_name(child.tag), bind, controls)


def _field(path: str, name: str, bind: etree._Element | None, controls: _Controls) -> FormField:
    data_type = local_name(attribute(bind, "type") or "string") if bind is not None else "string"
    max_pixels = attribute(bind, "max-pixels") if bind is not None else None
    binary = data_type == "binary" or path.endswith("/meta/audit")
    return FormField(
        path=path,
        name=name,
        type=data_type,
        binary=binary,
        select_multiple=path in controls.selects,
        geo=data_type in _GEO_TYPES,
        mediatype=controls.uploads.get(path) or None,
        max_pixels=int(max_pixels) if max_pixels and max_pixels.isdigit() else None,
        required=bind is not None and (bind.get("required") or "").strip() == "true()",
        calculated=bind is not None and bind.get("calculate") is not None,
    )


def _media(model: etree._Element, body: etree._Element | None) -> list[FormMedia]:
    found: dict[str, FormMedia] = {}
    for reference in _model_references(model):
        _add_media(found, reference)
    if body is not None:
        for element in body.iter():
            local = local_name(element.tag)
            if local == "input" and element.get("query"):
                # select_one_external: choices come from itemsets.csv, which the XForm never names.
                found.setdefault("itemsets.csv", FormMedia(name="itemsets.csv", kind="file"))
            elif local in {"select", "select1"}:
                match = _SEARCH_APPEARANCE.search(element.get("appearance") or "")
                if match:
                    _add_media(found, f"jr://file-csv/{match[1]}.csv")
    return list(found.values())


def _model_references(model: etree._Element) -> Iterator[str]:
    for instance in children(model, "instance"):
        source = instance.get("src")
        if source:
            yield source.strip()
    for element in model.iter():
        text = (element.text or "").strip()
        if text.startswith("jr://") and (local_name(element.tag) == "value" or text.startswith("jr://images/")):
            yield text


def _add_media(found: dict[str, FormMedia], reference: str) -> None:
    for scheme, kind in _MEDIA_SCHEMES.items():
        if reference.startswith(scheme):
            name = reference[len(scheme) :].strip()
            if not name:
                return
            if "/" in name or "\\" in name or ".." in name:
                raise FormXmlError(f"the media file name {name!r} is not a plain file name")
            found.setdefault(name, FormMedia(name=name, kind=kind))
            return


def _entity_lists(root: etree._Element) -> list[str]:
    lists = []
    for element in root.iter():
        if local_name(element.tag) == "entity":
            dataset = attribute(element, "dataset")
            if dataset and dataset not in lists:
                lists.append(dataset)
    return lists
