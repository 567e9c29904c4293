"""Structs of the areas capability."""

from __future__ import annotations

from typing import Literal

import msgspec

from service.structs import Input, Output

__all__ = ["AREA_LEVELS", "AreaFields", "AreaFieldsIn", "AreaLevel", "AreaOut", "AreaRow", "LoadedAreas", "NewArea"]

AreaLevel = Literal["province", "district", "commune", "village"]
AREA_LEVELS: tuple[AreaLevel, ...] = ("province", "district", "commune", "village")


class AreaRow(msgspec.Struct, frozen=True):
    code: str
    level: AreaLevel
    parent_code: str | None
    name: str
    name_en: str | None


class NewArea(msgspec.Struct, frozen=True):
    code: str
    level: AreaLevel
    parent_code: str | None
    name: str
    name_en: str | None = None


class AreaOut(Output, kw_only=True):
    code: str
    level: AreaLevel
    parent_code: str | None
    name: str
    name_en: str | None


class AreaFields(msgspec.Struct, frozen=True, omit_defaults=True):
    """Field paths (as in the form's schema, e.g. /data/g_loc/commune) that hold a household's area."""

    district: str | None = None
    commune: str | None = None
    village: str | None = None


class AreaFieldsIn(Input, kw_only=True):
    district: str | None = None
    commune: str | None = None
    village: str | None = None


class LoadedAreas(Output, kw_only=True):
    districts: int
    communes: int
    villages: int
    households_updated: int
