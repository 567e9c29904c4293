"""Which answers of a form hold a household's district, commune and village, and reading them from the answers.

A form says so in `forms.area_fields`; a form that does not is read by name: the first fields (outside repeats)
named `district`, `commune` and `village`, as the example form has them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from .models import AreaFields

if TYPE_CHECKING:
    from service.forms.schema import FormSchema

__all__ = ["area_fields_for", "declared_areas", "DeclaredAreas", "answer_path"]

_LEVELS = ("district", "commune", "village")
# A choice that means "not in the list" is not an area.
_NOT_AN_AREA = frozenset({"other", "khac"})


class DeclaredAreas(msgspec.Struct, frozen=True):
    district: str | None = None
    commune: str | None = None
    village: str | None = None


def area_fields_for(configured: dict[str, Any] | None, schema: FormSchema) -> AreaFields:
    if configured is not None:
        return msgspec.convert(configured, AreaFields)
    repeats = tuple(f"{path}/" for path in schema.repeats)
    found: dict[str, str] = {}
    for field in schema.fields:
        if (
            field.kind == "field"
            and field.name in _LEVELS
            and field.name not in found
            and not field.path.startswith(repeats)
        ):
            found[field.name] = field.path
    return AreaFields(**found)


def answer_path(field_path: str) -> list[str]:
    """`/data/g_loc/commune` → the keys of that answer in the stored answers JSON: ["g_loc", "commune"]."""
    return field_path.strip("/").split("/")[1:]


def declared_areas(fields: AreaFields, answers: dict[str, Any] | None) -> DeclaredAreas:
    if answers is None:
        return DeclaredAreas()

    def value(path: str | None) -> str | None:
        if path is None:
            return None
        node: Any = answers
        for key in answer_path(path):
            node = node.get(key) if isinstance(node, dict) else None
        text = str(node).strip() if isinstance(node, str | int) else ""
        return text[:40] if text and text.lower() not in _NOT_AN_AREA else None

    return DeclaredAreas(district=value(fields.district), commune=value(fields.commune), village=value(fields.village))
