"""Reading a submission's XML: a hardened parse, the identity facts, and the answers as typed, nested JSON.

Submissions are untrusted: they are read with the hardened parser of service/safexml.py (no DTD, no entities, no
DOCTYPE), and elements are matched by local name. Non-relevant questions are simply absent in Collect's XML; that
is never an error.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
from lxml import etree

from service.safexml import XmlRefused, first_child, local_name, parse_untrusted, text_of

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "Answers",
    "FieldInfo",
    "SubmissionFacts",
    "SubmissionXmlError",
    "extract_answers",
    "parse_submission",
    "valid_file_name",
    "valid_instance_id",
]

_MAX_NAME = 255


class SubmissionXmlError(ValueError):
    """The XML part is not a usable submission; the message is shown to the enumerator."""


class FieldInfo(Protocol):
    """What the answer walker needs to know about a form field (satisfied by forms.schema.FormField)."""

    @property
    def type(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def select_multiple(self) -> bool: ...
    @property
    def binary(self) -> bool: ...


class SubmissionFacts(msgspec.Struct, frozen=True):
    root: etree._Element
    xml_sha256: bytes
    form_id: str
    version: str
    instance_id: str
    deprecated_id: str | None
    instance_name: str | None
    encrypted: bool
    # Encrypted envelopes list their files; plain submissions reference files through binary answers.
    encrypted_files: list[str]


def valid_file_name(name: str) -> bool:
    """A bare file name: no directories, no traversal, no control characters."""
    return (
        0 < len(name) <= _MAX_NAME
        and "/" not in name
        and "\\" not in name
        and name not in {".", ".."}
        and ".." not in name
        and not any(ord(c) < 32 for c in name)
    )


def valid_instance_id(value: str) -> bool:
    return "/" not in value and "\\" not in value and not any(ord(c) < 32 for c in value)


def parse_submission(xml: bytes) -> SubmissionFacts:
    try:
        root = parse_untrusted(xml)
    except XmlRefused as exc:
        raise SubmissionXmlError(f"The submission cannot be read: {exc.reason}.") from None
    form_id = (root.get("id") or "").strip()
    if not form_id:
        raise SubmissionXmlError("The submission has no form id on its root element.")
    version = root.get("version")
    if version is None:
        version = next((str(v) for k, v in root.attrib.items() if local_name(k) == "version"), "")
    meta = first_child(root, "meta")
    instance_id = text_of(first_child(meta, "instanceID")) if meta is not None else None
    if instance_id is None:
        instance_id = text_of(first_child(root, "instanceID"))
    if not instance_id or len(instance_id) > _MAX_NAME:
        raise SubmissionXmlError("The submission has no usable meta/instanceID.")
    deprecated_id = text_of(first_child(meta, "deprecatedID")) if meta is not None else None
    for value in (instance_id, deprecated_id):
        if value is not None and not valid_instance_id(value):
            # It names the household in every URL of the API (…/submissions/{instanceId}), so it must fit in one.
            raise SubmissionXmlError(f"The instanceID {value[:80]!r} contains '/', '\\' or control characters.")
    encrypted = (root.get("encrypted") or "").lower() == "yes"
    return SubmissionFacts(
        root=root,
        xml_sha256=hashlib.sha256(xml).digest(),
        form_id=form_id,
        version=version.strip(),
        instance_id=instance_id,
        deprecated_id=deprecated_id,
        instance_name=text_of(first_child(meta, "instanceName")) if meta is not None else None,
        encrypted=encrypted,
        encrypted_files=_encrypted_files(root) if encrypted else [],
    )


def _encrypted_files(root: etree._Element) -> list[str]:
    names = []
    for child in root:
        local = local_name(child.tag)
        if local == "media":
            file_name = text_of(first_child(child, "file"))
            if file_name:
                names.append(unicodedata.normalize("NFC", file_name))
        elif local == "encryptedXmlFile":
            file_name = text_of(child)
            if file_name:
                names.append(unicodedata.normalize("NFC", file_name))
    return names


class Answers(msgspec.Struct, frozen=True):
    data: dict[str, Any]
    # (file name, field path) for every binary answer, in document order, without duplicates.
    files: list[tuple[str, str]]
    # The first geopoint outside repeats: (latitude, longitude, altitude, accuracy).
    geopoint: tuple[float, float, float | None, float | None] | None


def extract_answers(root: etree._Element, fields: Mapping[str, FieldInfo]) -> Answers:
    """Walk the instance into nested JSON typed by the form's binds (paths like `/data/group/name`)."""
    files: list[tuple[str, str]] = []
    seen: set[str] = set()
    geopoint: list[tuple[float, float, float | None, float | None]] = []

    def walk(element: etree._Element, path: str, in_repeat: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for child in element:
            name = local_name(child.tag)
            if not name:
                continue
            child_path = f"{path}/{name}"
            field = fields.get(child_path)
            kind = field.kind if field is not None else ("group" if len(child) else "field")
            if kind == "repeat":
                out.setdefault(name, []).append(walk(child, child_path, True))
            elif kind == "group" or (field is None and len(child)):
                out[name] = walk(child, child_path, in_repeat)
            else:
                value = _convert(child.text, field)
                out[name] = value
                if field is not None and field.binary and isinstance(value, str):
                    value = out[name] = unicodedata.normalize("NFC", value)  # as multipart.py names the parts
                    if value not in seen:
                        seen.add(value)
                        files.append((value, child_path))
                elif (
                    not in_repeat
                    and not geopoint
                    and field is not None
                    and field.type == "geopoint"
                    and isinstance(value, dict)
                ):
                    geopoint.append(_point_tuple(value))
        return out

    data = walk(root, f"/{local_name(root.tag)}", False)
    return Answers(data=data, files=files, geopoint=geopoint[0] if geopoint else None)


def _convert(text: str | None, field: FieldInfo | None) -> Any:
    if text is None:
        return None
    value = text.strip()
    if not value:
        return None
    if field is None:
        return value
    converter = _CONVERTERS.get(field.type)
    if field.select_multiple:
        return value.split()
    if converter is None:
        return value
    try:
        return converter(value)
    except ValueError:
        # Keep what the phone sent rather than lose it; exports show it as text.
        return value


def _to_int(value: str) -> int:
    return int(value)


def _to_float(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _to_bool(value: str) -> bool:
    if value in {"true", "1"}:
        return True
    if value in {"false", "0"}:
        return False
    raise ValueError(value)


def _coordinates(point: str) -> list[float]:
    parts = [float(p) for p in point.split()]
    if len(parts) < 2 or len(parts) > 4 or not all(math.isfinite(p) for p in parts):
        raise ValueError(point)
    lat, lon = parts[0], parts[1]
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(point)
    return parts


def _to_geopoint(value: str) -> dict[str, Any]:
    """GeoJSON as Central's OData shows it: coordinates are [lon, lat, alt]; accuracy is a property."""
    parts = _coordinates(value)
    coordinates = [parts[1], parts[0]] + ([parts[2]] if len(parts) > 2 else [])
    result: dict[str, Any] = {"type": "Point", "coordinates": coordinates}
    if len(parts) > 3:
        result["properties"] = {"accuracy": parts[3]}
    return result


def _line(value: str) -> list[list[float]]:
    points = [p for p in value.split(";") if p.strip()]
    coordinates = []
    for point in points:
        parts = _coordinates(point)
        coordinates.append([parts[1], parts[0]] + ([parts[2]] if len(parts) > 2 else []))
    return coordinates


def _to_geotrace(value: str) -> dict[str, Any]:
    coordinates = _line(value)
    if len(coordinates) < 2:
        raise ValueError(value)
    return {"type": "LineString", "coordinates": coordinates}


def _to_geoshape(value: str) -> dict[str, Any]:
    coordinates = _line(value)
    if len(coordinates) < 4:
        raise ValueError(value)
    return {"type": "Polygon", "coordinates": [coordinates]}


def _point_tuple(point: dict[str, Any]) -> tuple[float, float, float | None, float | None]:
    coordinates = point["coordinates"]
    altitude = coordinates[2] if len(coordinates) > 2 else None
    accuracy = point.get("properties", {}).get("accuracy")
    return coordinates[1], coordinates[0], altitude, accuracy


_CONVERTERS = {
    "int": _to_int,
    "integer": _to_int,
    "decimal": _to_float,
    "boolean": _to_bool,
    "geopoint": _to_geopoint,
    "geotrace": _to_geotrace,
    "geoshape": _to_geoshape,
}
