"""The progress page's view model: the poor rate per district next to the province's target (per commune when a
district is chosen), the changes since the status before the review and the temporary houses, in the reader's
language, from service/progress (which counts in SQL within the reader's scope).

Bars are inline SVG drawn from numbers here (no chart library, nothing from elsewhere): the rate as a bar, the target
as a mark, on one scale for the whole table so bars compare across rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

import msgspec

from service.progress import service as progress

from .models import FormLink
from .service import _forms, form_base

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.progress.models import ProgressOut, ProgressRow
    from service.resources import Resources

    from .i18n import Translator

__all__ = ["BAR_WIDTH", "ProgressRowView", "ProgressView", "YearLink", "progress_csv", "progress_page"]

# The bars' drawing width in SVG units (CSS scales the SVG to its cell).
BAR_WIDTH = 120
# The scale's end, in percent, never below this: a table of low rates still shows small bars, not full ones.
_MIN_SCALE = 5.0


class YearLink(msgspec.Struct, frozen=True):
    year: int
    url: str
    current: bool


class ProgressRowView(msgspec.Struct, frozen=True, kw_only=True):
    level: str
    code: str | None
    name: str
    url: str | None  # the district's communes
    households: str
    households_note: str | None
    surveyed: int
    poor: int
    near_poor: int
    unclassified: int
    poor_rate: str | None
    near_poor_rate: str | None
    target: str | None
    meets_target: bool | None
    bar_width: float
    target_x: float | None
    bar_label: str
    escaped_poverty: int
    escaped_near_poverty: int
    fell_back: int
    newly_poor: int
    newly_near_poor: int
    eligible: int
    supported: int
    supported_split: str
    finished: int
    still_standing: int
    poor_district: str | None


class ProgressView(msgspec.Struct, frozen=True, kw_only=True):
    project_id: int
    xml_form_id: str
    form_name: str
    forms: list[FormLink]
    year: int
    years: list[YearLink]
    district: str | None
    heading: str
    headline: ProgressRowView | None
    rows: list[ProgressRowView]
    all_districts_url: str | None
    csv_url: str
    bar_width: int = BAR_WIDTH


def _page_url(project_id: int, xml_form_id: str, **query: object) -> str:
    given = {key: value for key, value in query.items() if value is not None}
    return f"{form_base(project_id, xml_form_id)}/progress" + (f"?{urlencode(given)}" if given else "")


def _rate(t: Translator, value: float | None) -> str | None:
    return None if value is None else f"{t.number(value, 2)}%"


def _target_rate(t: Translator, value: float | None) -> str | None:
    """A target as it was set: 2.2 % stays "2.2 %", 1.84 % stays "1.84 %"."""
    if value is None:
        return None
    digits = 0 if value == int(value) else (1 if value * 10 == int(value * 10) else 2)
    return f"{t.number(value, digits)}%"


def _households(t: Translator, row: ProgressRow) -> tuple[str, str | None]:
    if row.households is None:
        return t("progress.no_total"), None
    note = None
    if row.households_source == "communes":
        note = t("progress.summed_communes")
    elif row.households_source == "districts":
        note = t("progress.summed_districts")
    if note and row.areas_without_total:
        note = f"{note}; {t('progress.missing_totals', n=row.areas_without_total)}"
    return t.number(row.households), note


def _poor_district(t: Translator, row: ProgressRow) -> str | None:
    listing = row.poor_district
    if listing is None:
        return None
    if listing.listed_until is None:
        listed = t("progress.poor_district_since", first=listing.listed_from)
    else:
        listed = t("progress.poor_district", first=listing.listed_from, last=listing.listed_until)
    if listing.exit_poor_rate_percent is None:
        return f"{listed}. {t('progress.exit_unknown')}"
    return f"{listed}. {t('progress.exit_threshold', rate=_target_rate(t, listing.exit_poor_rate_percent))}"


def _row_view(t: Translator, row: ProgressRow, scale: float, url: str | None) -> ProgressRowView:
    name = t.pick(row.name, row.name_en) or row.code or t("summary.unknown_area")
    if row.level == "province" and not row.name:
        name = t("summary.total")
    households, note = _households(t, row)
    target = row.target
    target_rate = target.poor_rate_percent if target else None
    rate = row.poor_rate or 0.0
    rate_text, target_text = _rate(t, row.poor_rate), _target_rate(t, target_rate)
    if target_text is not None:
        label = t("progress.bar", rate=rate_text or t("progress.no_rate"), target=target_text)
    else:
        label = t("progress.bar_no_target", rate=rate_text or t("progress.no_rate"))
    houses, moved = row.housing, row.transitions
    return ProgressRowView(
        level=row.level,
        code=row.code,
        name=name,
        url=url,
        households=households,
        households_note=note,
        surveyed=row.surveyed,
        poor=row.poor,
        near_poor=row.near_poor,
        unclassified=row.unclassified,
        poor_rate=rate_text,
        near_poor_rate=_rate(t, row.near_poor_rate),
        target=t("progress.target_value", rate=target_text, year=target.year) if target and target_text else None,
        meets_target=row.meets_target,
        bar_width=round(BAR_WIDTH * min(rate, scale) / scale, 1),
        target_x=None if target_rate is None else round(BAR_WIDTH * min(target_rate, scale) / scale, 1),
        bar_label=label,
        escaped_poverty=moved.escaped_poverty,
        escaped_near_poverty=moved.escaped_near_poverty,
        fell_back=moved.fell_back,
        newly_poor=moved.newly_poor,
        newly_near_poor=moved.newly_near_poor,
        eligible=houses.eligible,
        supported=houses.supported,
        supported_split=t("progress.supported_split", new=houses.supported_new, repair=houses.supported_repair),
        finished=houses.finished,
        still_standing=houses.still_standing,
        poor_district=_poor_district(t, row),
    )


def _shown(out: ProgressOut, district: str | None) -> tuple[ProgressRow | None, list[ProgressRow]]:
    """(the headline row, the table's rows): the province (or the chosen district) above its districts (or its
    communes); a reader who reaches no district sees their communes."""
    rows = out.rows
    if district is not None:
        top = next((r for r in rows if r.code == district and r.level == "district"), None)
        return top, [r for r in rows if r.level == "commune" and r.parent_code == district]
    province = next((r for r in rows if r.level == "province"), None)
    districts = [r for r in rows if r.level == "district"]
    if districts:
        return province, districts
    return None, [r for r in rows if r.level == "commune"]


async def progress_page(
    res: Resources, access: Access, xml_form_id: str, *, year: int | None, district: str | None, t: Translator
) -> ProgressView:
    out = await progress.progress(res, access, xml_form_id, year=year, area=district)
    form_list = await _forms(res, access)
    project_id = access.project_id
    headline, rows = _shown(out, district)
    shown = ([headline] if headline else []) + rows
    rates = [r.poor_rate or 0.0 for r in shown] + [r.target.poor_rate_percent or 0.0 for r in shown if r.target]
    scale = max([_MIN_SCALE, *rates]) * 1.1  # room past the largest bar or mark

    def link(row: ProgressRow) -> str | None:
        if row.level != "district" or district is not None or row.code is None:
            return None
        return _page_url(project_id, xml_form_id, year=out.year, district=row.code)

    years = sorted({*out.years, out.year}, reverse=True)
    whole_province = access.scope("submission.list").areas is None
    by_district = district is None and any(r.level == "district" for r in rows)
    csv_query = {"year": out.year, **({"district": district} if district else {})}
    return ProgressView(
        project_id=project_id,
        xml_form_id=xml_form_id,
        form_name=next((f.name for f in form_list if f.xml_form_id == xml_form_id), xml_form_id),
        forms=form_list,
        year=out.year,
        years=[
            YearLink(year=y, url=_page_url(project_id, xml_form_id, year=y, district=district), current=y == out.year)
            for y in years
        ],
        district=district,
        heading=t("progress.by_district" if by_district else "progress.by_commune"),
        headline=_row_view(t, headline, scale, None) if headline else None,
        rows=[_row_view(t, row, scale, link(row)) for row in rows],
        all_districts_url=_page_url(project_id, xml_form_id, year=out.year) if district and whole_province else None,
        csv_url=f"{form_base(project_id, xml_form_id)}/progress.csv?{urlencode(csv_query)}",
    )


async def progress_csv(
    res: Resources, access: Access, xml_form_id: str, *, year: int | None, district: str | None
) -> tuple[str, bytes]:
    """(file name, CSV) of what the page shows, for the reader's own spreadsheet."""
    out = await progress.progress(res, access, xml_form_id, year=year, area=district)
    return f"{xml_form_id}-progress-{out.year}.csv", progress.progress_csv(out)
