"""Build small XLSForm workbooks in tests (openpyxl), so each test shows the sheet it is about."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from openpyxl import Workbook

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["SIMPLE_SURVEY", "XLSX", "xlsx"]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx(
    survey: Sequence[Sequence[str | None]] | Sequence[Sequence[str | int | None]],
    *,
    settings: Sequence[Sequence[str | None]] | Sequence[Sequence[str | int | None]] | None = None,
    choices: Sequence[Sequence[str | None]] | Sequence[Sequence[str | int | None]] | None = None,
    form_id: str | None = "test_form",
    version: str | None = "1",
) -> bytes:
    """A workbook with the given survey rows (first row = header); settings default to form_id/version."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "survey"
    for row in survey:
        sheet.append(list(row))
    if choices is not None:
        choice_sheet = workbook.create_sheet("choices")
        for row in choices:
            choice_sheet.append(list(row))
    if settings is None and (form_id is not None or version is not None):
        header = [name for name, value in (("form_id", form_id), ("version", version)) if value is not None]
        values = [value for value in (form_id, version) if value is not None]
        settings = [header, values]
    if settings is not None:
        settings_sheet = workbook.create_sheet("settings")
        for row in settings:
            settings_sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


SIMPLE_SURVEY: list[list[str | int | None]] = [
    ["type", "name", "label", "parameters"],
    ["text", "hh_name", "Household head", None],
    ["integer", "hh_size", "Household size", None],
    ["geopoint", "hh_gps", "Location", None],
    ["image", "photo_front", "Front photo", "max-pixels=1024"],
    ["image", "photo_roof", "Roof photo", "max-pixels=1024"],
]
