"""Build an example form's .xlsx from its reviewable CSV sources (one CSV per sheet).

    python forms/build_xlsx.py            # rewrite forms/household_poverty_review_2023.xlsx
    python forms/build_xlsx.py --check    # exit 1 if the committed .xlsx no longer matches the CSVs

The output is byte-for-byte deterministic (fixed document and zip timestamps), so re-running it on unchanged
sources changes nothing in git. Media files the form needs (villages.csv) sit next to the sheet CSVs.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook

__all__ = ["SHEETS", "build_workbook_bytes", "main", "read_sheets", "workbook_cells"]

SHEETS = ("survey", "choices", "settings")
FORMS_DIR = Path(__file__).resolve().parent
DEFAULT_FORM = "household_poverty_review_2023"
_FIXED_TIME = datetime(2023, 9, 1)  # noqa: DTZ001 - a constant stamp, not a moment in any zone


def read_sheets(source_dir: Path) -> dict[str, list[list[str]]]:
    sheets = {}
    for name in SHEETS:
        with (source_dir / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            sheets[name] = [list(row) for row in csv.reader(handle)]
    return sheets


def build_workbook_bytes(source_dir: Path) -> bytes:
    workbook = Workbook()
    default_sheet = workbook.active
    if default_sheet is not None:
        workbook.remove(default_sheet)
    for name, rows in read_sheets(source_dir).items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append([cell if cell != "" else None for cell in row])
    workbook.properties.creator = "survey-service"
    workbook.properties.created = _FIXED_TIME
    workbook.properties.modified = _FIXED_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _with_fixed_zip_times(buffer.getvalue())


def _with_fixed_zip_times(data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                # openpyxl stamps "modified" with the current time while saving; pin it.
                content = _pin_modified(content)
            info = zipfile.ZipInfo(item.filename, date_time=_FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = item.external_attr
            target.writestr(info, content)
    return output.getvalue()


def _pin_modified(core: bytes) -> bytes:
    text = core.decode("utf-8")
    start = text.find("<dcterms:modified")
    if start == -1:
        return core
    open_end = text.find(">", start) + 1
    close = text.find("</dcterms:modified>", open_end)
    return (text[:open_end] + _FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ") + text[close:]).encode("utf-8")


def workbook_cells(data: bytes) -> dict[str, list[list[str]]]:
    """The cell text of each sheet, as the CSV sources spell it (empty cells as "")."""
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    cells = {}
    for name in SHEETS:
        rows = []
        for row in workbook[name].iter_rows(values_only=True):
            values = ["" if value is None else str(value) for value in row]
            rows.append(values)
        cells[name] = rows
    workbook.close()
    return cells


def _normalised(sheets: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    return {name: [_trim(row) for row in rows if any(row)] for name, rows in sheets.items()}


def _trim(row: list[str]) -> list[str]:
    while row and row[-1] == "":
        row = row[:-1]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("form", nargs="?", default=DEFAULT_FORM, help="form folder name under forms/")
    parser.add_argument("--check", action="store_true", help="verify the committed .xlsx instead of writing it")
    args = parser.parse_args(argv)
    source_dir = FORMS_DIR / args.form
    target = FORMS_DIR / f"{args.form}.xlsx"
    if args.check:
        if not target.is_file():
            print(f"{target} is missing; run python forms/build_xlsx.py")
            return 1
        if _normalised(workbook_cells(target.read_bytes())) != _normalised(read_sheets(source_dir)):
            print(f"{target.name} does not match the CSV sources; run python forms/build_xlsx.py")
            return 1
        print(f"{target.name} matches its sources")
        return 0
    target.write_bytes(build_workbook_bytes(source_dir))
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
