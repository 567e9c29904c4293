"""The data progress is measured against: total households per district and commune and year (the denominators),
the province's targets and the poor districts.

    household totals  read by any signed-in user; set by admins, and by managers for the areas their manager roles
                      reach (a project-wide manager: every area), from a CSV (`area_code,year,households`) or one by
                      one. A CSV sets the rows it lists and leaves the others as they are; every problem in it is
                      reported with its line number, and nothing is stored unless the whole file is right.
    targets           read by any signed-in user; set by admins (the province's directive)
    poor districts    read by any signed-in user; set by admins (the national list, and the exit threshold once known)
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from service.areas import service as areas
from service.audits import record_audit
from service.auth.access import require_admin
from service.errors import Problem

from . import queries
from .models import HouseholdTotalOut, PoorDistrictOut, TargetOut, TotalsImported

if TYPE_CHECKING:
    from service.auth.models import Actor
    from service.db.pool import Connection
    from service.resources import Resources

    from .models import PoorDistrictIn, TargetIn

__all__ = [
    "MAX_CSV_ROWS",
    "delete_household_total",
    "delete_target",
    "import_household_totals",
    "list_household_totals",
    "list_poor_districts",
    "list_targets",
    "set_household_total",
    "set_poor_district",
    "set_target",
]

CSV_HEADER = ("area_code", "year", "households")
MAX_CSV_ROWS = 20_000
# How many problems one answer lists (the first ones, by line): enough to fix a file in one go, never a huge body.
MAX_REPORTED = 20
MIN_YEAR, MAX_YEAR, MAX_HOUSEHOLDS = 2000, 2100, 10_000_000
_TOTAL_LEVELS = {"district", "commune"}


def _signed_in(actor: Actor) -> None:
    if actor.kind != "user":
        require_admin(actor)  # 401 for anonymous; app users (devices) have no business here


async def _require_editor(conn: Connection, actor: Actor, codes: list[str]) -> None:
    """Admins set any total; a manager sets those of the areas a manager role of theirs reaches."""
    if actor.is_admin:
        return
    _signed_in(actor)
    assert actor.id is not None  # a signed-in user has an id
    grants = await queries.manager_areas(conn, actor.id)
    if not grants:
        raise Problem.insufficient_rights()
    if any(grant is None for grant in grants):
        return
    reach = {code for grant in grants for code in grant or []}
    lineage = await areas.lineage(conn, codes)
    if any(not (lineage.get(code, {code}) & reach) for code in codes):
        raise Problem.insufficient_rights()


async def list_household_totals(res: Resources, actor: Actor, year: int | None) -> list[HouseholdTotalOut]:
    _signed_in(actor)
    async with res.pool.acquire() as conn:
        return [HouseholdTotalOut.from_row(row) for row in await queries.household_totals(conn, year)]


def _whole_number(text: str, low: int, high: int) -> int | None:
    """A plain whole number in [low, high]; None otherwise (no thousands separators: "12.345" is ambiguous between
    Vietnamese and English writing, so it is refused rather than guessed)."""
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if low <= value <= high else None


def _header(reader: Any) -> dict[str, int]:
    """Where each column is; the header is line 1."""
    try:
        header = [column.strip().lower() for column in next(reader, [])]
    except csv.Error as exc:
        raise Problem.csv_invalid([(1, str(exc))]) from None
    if any(column not in header for column in CSV_HEADER):
        raise Problem.csv_invalid([(1, f"the header must name the columns {', '.join(CSV_HEADER)}")])
    return {column: header.index(column) for column in CSV_HEADER}


def _row(values: list[str], where: dict[str, int]) -> tuple[str, int, int] | str:
    """(area code, year, households), or what is wrong with the row."""
    if len(values) <= max(where.values()):
        return f"{len(values)} values, fewer than the header's columns"
    code = values[where["area_code"]].strip()
    year = _whole_number(values[where["year"]], MIN_YEAR, MAX_YEAR)
    households = _whole_number(values[where["households"]], 0, MAX_HOUSEHOLDS)
    if not code or len(code) > 40:
        return "area_code is empty or longer than 40 characters"
    if year is None:
        return f"year must be a whole number from {MIN_YEAR} to {MAX_YEAR}"
    if households is None:
        return f"households must be a whole number from 0 to {MAX_HOUSEHOLDS}, written without separators"
    return code, year, households


def _parse(data: bytes) -> list[tuple[int, str, int, int]]:
    """(line, area code, year, households) per row; a 400 listing every problem found, with its line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem.csv_invalid([(1, f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    where = _header(reader)
    rows: list[tuple[int, str, int, int]] = []
    problems: list[tuple[int, str]] = []
    try:
        for values in reader:
            line = reader.line_num
            if not any(value.strip() for value in values):
                continue  # a blank line
            if len(rows) + len(problems) >= MAX_CSV_ROWS:
                raise Problem.csv_invalid([(line, f"a file holds at most {MAX_CSV_ROWS} rows")])
            found = _row(values, where)
            if isinstance(found, str):
                problems.append((line, found))
            else:
                rows.append((line, *found))
    except csv.Error as exc:
        problems.append((reader.line_num, str(exc)))
    if problems:
        raise Problem.csv_invalid(problems[:MAX_REPORTED])
    if not rows:
        raise Problem.csv_invalid([(1, "the file has a header and no rows")])
    return rows


def _check_rows(rows: list[tuple[int, str, int, int]], levels: dict[str, str]) -> None:
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[str, int], int] = {}
    for line, code, year, _ in rows:
        level = levels.get(code)
        if level is None:
            problems.append((line, f"area {code} is not a known area (load the areas first)"))
        elif level not in _TOTAL_LEVELS:
            problems.append((line, f"area {code} is a {level}: totals are given for districts and communes"))
        if (code, year) in seen:
            problems.append((line, f"area {code} in {year} is already on line {seen[code, year]}"))
        seen.setdefault((code, year), line)
    if problems:
        raise Problem.csv_invalid(sorted(problems)[:MAX_REPORTED])


async def import_household_totals(res: Resources, actor: Actor, data: bytes) -> TotalsImported:
    """Set the totals a CSV lists (`area_code,year,households`, a header line first)."""
    rows = _parse(data)
    codes = sorted({code for _, code, _, _ in rows})
    async with res.pool.acquire() as conn, conn.transaction():
        await _require_editor(conn, actor, codes)
        levels = await queries.area_levels(conn, codes)
        _check_rows(rows, levels)
        await queries.set_household_totals(
            conn,
            [code for _, code, _, _ in rows],
            [year for _, _, year, _ in rows],
            [households for _, _, _, households in rows],
            actor.user_id,
        )
        years = sorted({year for _, _, year, _ in rows})
        await record_audit(
            conn, "areas.household_totals", actor_user_id=actor.user_id, details={"rows": len(rows), "years": years}
        )
    return TotalsImported(
        districts=sum(1 for _, code, _, _ in rows if levels[code] == "district"),
        communes=sum(1 for _, code, _, _ in rows if levels[code] == "commune"),
        years=years,
    )


async def _total_area(conn: Connection, actor: Actor, code: str) -> None:
    await _require_editor(conn, actor, [code])
    level = (await queries.area_levels(conn, [code])).get(code)
    if level is None:
        raise Problem.not_found("area")
    if level not in _TOTAL_LEVELS:
        raise Problem.unexpected_value("areaCode", f"{code} is a {level}: totals are given for districts and communes")


async def set_household_total(res: Resources, actor: Actor, code: str, year: int, households: int) -> HouseholdTotalOut:
    async with res.pool.acquire() as conn, conn.transaction():
        await _total_area(conn, actor, code)
        row = await queries.set_household_total(conn, code, year, households, actor.user_id)
        await record_audit(
            conn,
            "areas.household_total",
            actor_user_id=actor.user_id,
            details={"areaCode": code, "year": year, "households": households},
        )
    return HouseholdTotalOut.from_row(row)


async def delete_household_total(res: Resources, actor: Actor, code: str, year: int) -> None:
    async with res.pool.acquire() as conn, conn.transaction():
        await _total_area(conn, actor, code)
        if not await queries.delete_household_total(conn, code, year):
            raise Problem.not_found("household total")
        await record_audit(
            conn,
            "areas.household_total",
            actor_user_id=actor.user_id,
            details={"areaCode": code, "year": year, "households": None},
        )


async def list_targets(res: Resources, actor: Actor) -> list[TargetOut]:
    _signed_in(actor)
    async with res.pool.acquire() as conn:
        return [TargetOut.from_row(row) for row in await queries.targets(conn)]


async def set_target(res: Resources, actor: Actor, code: str, year: int, target: TargetIn) -> TargetOut:
    require_admin(actor)
    if target.poor_rate_percent is None and target.near_poor_rate_percent is None:
        raise Problem.unexpected_value("target", "give poorRatePercent, nearPoorRatePercent or both")
    async with res.pool.acquire() as conn, conn.transaction():
        row = await queries.upsert_target(conn, code, year, target, actor.user_id)
        await record_audit(
            conn,
            "progress.target",
            actor_user_id=actor.user_id,
            details={"areaCode": code, "year": year, "poorRatePercent": target.poor_rate_percent},
        )
    return TargetOut.from_row(row)


async def delete_target(res: Resources, actor: Actor, code: str, year: int) -> None:
    require_admin(actor)
    async with res.pool.acquire() as conn, conn.transaction():
        if not await queries.delete_target(conn, code, year):
            raise Problem.not_found("target")
        await record_audit(
            conn, "progress.target", actor_user_id=actor.user_id, details={"areaCode": code, "year": year}
        )


async def list_poor_districts(res: Resources, actor: Actor) -> list[PoorDistrictOut]:
    _signed_in(actor)
    async with res.pool.acquire() as conn:
        return [PoorDistrictOut.from_row(row) for row in await queries.poor_districts(conn)]


async def set_poor_district(res: Resources, actor: Actor, code: str, district: PoorDistrictIn) -> PoorDistrictOut:
    require_admin(actor)
    if district.listed_until is not None and district.listed_until < district.listed_from:
        raise Problem.unexpected_value("listedUntil", "it is on or after listedFrom")
    async with res.pool.acquire() as conn, conn.transaction():
        row = await queries.upsert_poor_district(conn, code, district, actor.user_id)
        await record_audit(
            conn,
            "progress.poor_district",
            actor_user_id=actor.user_id,
            details={"areaCode": code, "exitPoorRatePercent": district.exit_poor_rate_percent},
        )
    return PoorDistrictOut.from_row(row)
