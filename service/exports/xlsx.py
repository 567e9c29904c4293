"""The fixed parts of an .xlsx (Office Open XML SpreadsheetML) and its sheet names; the sheets themselves are
written row by row (service.py), so no spreadsheet library has to hold the workbook."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

__all__ = ["SHEET_HEAD", "SHEET_TAIL", "header_row", "package_parts", "sheet_names"]

SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = "</sheetData></worksheet>"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_names(stems: list[str]) -> list[str]:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique without regard to case."""
    names: list[str] = []
    for stem in stems:
        base = _FORBIDDEN.sub("_", stem)[:31] or "Sheet"
        name, counter = base, 1
        while name.lower() in {n.lower() for n in names}:
            suffix = f"~{counter}"
            name = base[: 31 - len(suffix)] + suffix
            counter += 1
        names.append(name)
    return names


def header_row(headers: list[str]) -> str:
    cells = "".join(f'<c t="inlineStr"><is><t>{escape(h)}</t></is></c>' for h in headers)
    return f"<row>{cells}</row>"


def package_parts(names: list[str]) -> list[tuple[str, bytes]]:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_SHEET_CT}"/>'
        for i in range(1, len(names) + 1)
    )
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f"{sheets}</Types>"
    )
    root_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
        + "".join(
            f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(names, start=1)
        )
        + "</sheets></workbook>"
    )
    workbook_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{_PKG_REL}">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(names) + 1)
        )
        + "</Relationships>"
    )
    return [
        ("[Content_Types].xml", content_types.encode()),
        ("_rels/.rels", root_rels.encode()),
        ("xl/workbook.xml", workbook.encode()),
        ("xl/_rels/workbook.xml.rels", workbook_rels.encode()),
    ]
