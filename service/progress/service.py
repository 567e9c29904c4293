"""Progress against the province's targets: per province, district and commune, the households of a year's review in
the reader's scope (surveyed, poor, near-poor, the rates against the total households and the targets, the changes
since the status before the review, temporary houses), as JSON and CSV.

    progress          → submission.list; counted in SQL within the reader's scope; an area row is shown only when
                        the scope reaches all of it (a commune supervisor sees their commune, not a partial district)
    progress_csv      → the same rows, one line per area
    the denominators  → any user reads them; admins, and managers within their areas, set them (a CSV or one by one)
    targets, poor districts → any user reads them; admins set them

Denominators, targets and poor districts are in totals.py.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from service.errors import Problem
from service.forms.access import authorized_form

from . import queries
from .models import Housing, PoorDistrictOut, ProgressOut, ProgressRow, TargetOut, Transitions

if TYPE_CHECKING:
    from service.auth.access import Access, Scope
    from service.resources import Resources

    from .models import AreaCounts, AreaTotalRow, Level, PoorDistrictRow, TargetRow

__all__ = ["CSV_COLUMNS", "progress", "progress_csv"]


async def progress(
    res: Resources, access: Access, xml_form_id: str, *, year: int | None, area: str | None
) -> ProgressOut:
    """The rows of `area` and the areas below it (all the reader's areas when None) for the review of `year` (the
    latest with households when None)."""
    scope = access.scope("submission.list")
    zone = res.settings.review_time_zone
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "submission.list")
        years = [y.year for y in await queries.household_years(conn, scope, form.id, zone)]
        chosen = year if year is not None else (years[0] if years else res.settings.local_today().year)
        counts = await queries.household_counts(conn, scope, form.id, chosen, zone)
        areas = await queries.area_totals(conn, chosen)
        targets = await queries.targets(conn)
        poor_districts = await queries.poor_districts(conn)
    rows = _rows(res.settings.province_code, scope, areas, counts, chosen, targets, poor_districts)
    if area is not None:
        if not any(row.code == area for row in rows):
            if area in {a.code for a in areas} or any(area in (c.district_code, c.commune_code) for c in counts):
                raise Problem.insufficient_rights()  # an area the reader's scope does not wholly reach
            raise Problem.not_found("area")
        rows = [row for row in rows if area in (row.code, row.parent_code) or _under(row, area, rows)]
    return ProgressOut(year=chosen, area=area, years=years, rows=rows)


def _under(row: ProgressRow, area: str, rows: list[ProgressRow]) -> bool:
    """A commune of a district of the province `area`."""
    parent = next((r for r in rows if r.code == row.parent_code and r.level == "district"), None)
    return parent is not None and parent.parent_code == area


def _reaches(scope: Scope, lineage: tuple[str | None, ...]) -> bool:
    """The scope holds the whole area when it holds the area or one above it."""
    return scope.areas is None or any(code in scope.areas for code in lineage if code is not None)


def _rows(
    province: str,
    scope: Scope,
    areas: list[AreaTotalRow],
    counts: list[AreaCounts],
    year: int,
    targets: list[TargetRow],
    poor_districts: list[PoorDistrictRow],
) -> list[ProgressRow]:
    """Province, then each district followed by its communes: every known area the scope wholly reaches, and any
    code households declare that the areas table does not know."""
    known = {a.code: a for a in areas}
    by_district = {c.district_code: c for c in counts if c.level == "district"}
    by_commune = {(c.district_code, c.commune_code): c for c in counts if c.level == "commune"}
    total = next((c for c in counts if c.level == "total"), None)
    districts = sorted(
        {a.code for a in areas if a.level == "district" and a.parent_code == province} | set(by_district),
        key=lambda code: (code is None, code or ""),
    )
    given = {a.code: a.households for a in areas if a.households is not None}
    communes_of: dict[str | None, list[str | None]] = {}
    for a in areas:
        if a.level == "commune":
            communes_of.setdefault(a.parent_code, []).append(a.code)
    for district_code, commune_code in by_commune:
        if commune_code is None or commune_code not in known:
            communes_of.setdefault(district_code, []).append(commune_code)
    rates = _Rates(year, province, known, targets, poor_districts)
    rows: list[ProgressRow] = []
    district_totals: list[int | None] = []
    for district in districts:
        communes = sorted(set(communes_of.get(district, [])), key=lambda code: (code is None, code or ""))
        summed = [given.get(c) for c in communes if c is not None]
        households, source, missing = given.get(district or ""), "given", 0
        if households is None and any(value is not None for value in summed):
            households, source = sum(v for v in summed if v is not None), "communes"
            missing = sum(1 for v in summed if v is None)
        district_totals.append(households)
        if _reaches(scope, (district, province)):
            rows.append(
                rates.row("district", district, province, by_district.get(district), households, source, missing)
            )
        for commune in communes:
            if _reaches(scope, (commune, district, province)):
                count = by_commune.get((district, commune))
                rows.append(rates.row("commune", commune, district, count, given.get(commune or ""), "given", 0))
    if _reaches(scope, (province,)):
        with_total = [t for t in district_totals if t is not None]
        households = sum(with_total) if with_total else None
        missing = len(district_totals) - len(with_total) if with_total else 0
        rows.insert(0, rates.row("province", province, None, total, households, "districts", missing))
    return rows


class _Rates:
    """Builds rows: names, rates, the target that applies, the poor-district listing."""

    def __init__(
        self,
        year: int,
        province: str,
        known: dict[str, AreaTotalRow],
        targets: list[TargetRow],
        poor_districts: list[PoorDistrictRow],
    ) -> None:
        self.year = year
        self.province = province
        self.known = known
        self.targets: dict[str, list[TargetRow]] = {}
        for target in sorted(targets, key=lambda t: t.year):
            self.targets.setdefault(target.area_code, []).append(target)
        self.poor_districts = {d.area_code: d for d in poor_districts}

    def target(self, code: str | None, parent: str | None) -> TargetOut | None:
        """The area's own target, else its district's, else the province's: the first at or after the year."""
        for holder in (code, parent, self.province):
            for target in self.targets.get(holder or "", []):
                if target.year >= self.year:
                    return TargetOut(
                        area_code=target.area_code,
                        year=target.year,
                        poor_rate_percent=target.poor_rate_percent,
                        near_poor_rate_percent=target.near_poor_rate_percent,
                        source=target.source,
                    )
        return None

    def row(
        self,
        level: Level,
        code: str | None,
        parent: str | None,
        counts: AreaCounts | None,
        households: int | None,
        source: str,
        missing: int,
    ) -> ProgressRow:
        area = self.known.get(code or "")
        poor = counts.poor if counts else 0
        near_poor = counts.near_poor if counts else 0
        poor_rate = _percent(poor, households)
        target = self.target(code, parent)
        meets = None
        if target is not None and target.poor_rate_percent is not None and poor_rate is not None:
            meets = poor_rate <= target.poor_rate_percent
        return ProgressRow(
            level=level,
            code=code,
            parent_code=parent,
            name=area.name if area else None,
            name_en=area.name_en if area else None,
            households=households,
            households_source=None if households is None else source,  # type: ignore[arg-type]
            areas_without_total=missing,
            surveyed=counts.surveyed if counts else 0,
            poor=poor,
            near_poor=near_poor,
            unclassified=counts.unclassified if counts else 0,
            poor_rate=poor_rate,
            near_poor_rate=_percent(near_poor, households),
            target=target,
            meets_target=meets,
            transitions=_transitions(counts),
            housing=_housing(counts),
            poor_district=self.poor_district(code, poor_rate) if level == "district" else None,
        )

    def poor_district(self, code: str | None, poor_rate: float | None) -> PoorDistrictOut | None:
        listing = self.poor_districts.get(code or "")
        if listing is None:
            return None
        below = None
        if listing.exit_poor_rate_percent is not None and poor_rate is not None:
            below = poor_rate < listing.exit_poor_rate_percent
        until = listing.listed_until if listing.listed_until is not None else self.year
        return PoorDistrictOut(
            area_code=listing.area_code,
            listed_from=listing.listed_from,
            listed_until=listing.listed_until,
            listed_by=listing.listed_by,
            exited_by=listing.exited_by,
            exit_poor_rate_percent=listing.exit_poor_rate_percent,
            exit_rule_note=listing.exit_rule_note,
            listed=listing.listed_from <= self.year <= until,
            below_exit_rate=below,
        )


def _percent(part: int, whole: int | None) -> float | None:
    return None if not whole else round(100 * part / whole, 2)


def _transitions(counts: AreaCounts | None) -> Transitions:
    if counts is None:
        return Transitions()
    return Transitions(
        escaped_poverty=counts.escaped_poverty,
        escaped_near_poverty=counts.escaped_near_poverty,
        fell_back=counts.fell_back,
        newly_poor=counts.newly_poor,
        newly_near_poor=counts.newly_near_poor,
    )


def _housing(counts: AreaCounts | None) -> Housing:
    if counts is None:
        return Housing()
    return Housing(
        eligible=counts.temp_eligible,
        supported=counts.housing_supported,
        supported_new=counts.housing_new,
        supported_repair=counts.housing_repair,
        finished=counts.housing_finished,
        still_standing=counts.temp_still_standing,
        amount_vnd=counts.housing_amount_vnd,
    )


CSV_COLUMNS = (
    "year",
    "level",
    "area_code",
    "parent_code",
    "name",
    "name_en",
    "households",
    "households_source",
    "areas_without_total",
    "surveyed",
    "poor",
    "near_poor",
    "unclassified",
    "poor_rate_percent",
    "near_poor_rate_percent",
    "target_poor_rate_percent",
    "target_year",
    "target_area",
    "meets_target",
    "escaped_poverty",
    "escaped_near_poverty",
    "fell_back",
    "newly_poor",
    "newly_near_poor",
    "temp_houses_eligible",
    "housing_supported",
    "housing_supported_new",
    "housing_supported_repair",
    "housing_finished",
    "temp_houses_still_standing",
    "housing_amount_vnd",
    "poor_district_listed",
    "poor_district_exit_rate_percent",
)


def progress_csv(out: ProgressOut) -> bytes:
    """One line per area, the columns of CSV_COLUMNS; empty cells for unknown values. UTF-8 with a BOM, so that
    Excel opens the Vietnamese names correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in out.rows:
        target, listing, moved, houses = row.target, row.poor_district, row.transitions, row.housing
        writer.writerow(
            [
                out.year,
                row.level,
                row.code,
                row.parent_code,
                row.name,
                row.name_en,
                row.households,
                row.households_source,
                row.areas_without_total,
                row.surveyed,
                row.poor,
                row.near_poor,
                row.unclassified,
                row.poor_rate,
                row.near_poor_rate,
                target.poor_rate_percent if target else None,
                target.year if target else None,
                target.area_code if target else None,
                _flag(row.meets_target),
                moved.escaped_poverty,
                moved.escaped_near_poverty,
                moved.fell_back,
                moved.newly_poor,
                moved.newly_near_poor,
                houses.eligible,
                houses.supported,
                houses.supported_new,
                houses.supported_repair,
                houses.finished,
                houses.still_standing,
                houses.amount_vnd,
                _flag(listing.listed) if listing else None,
                listing.exit_poor_rate_percent if listing else None,
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")
