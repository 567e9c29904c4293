"""All SQL of progress against the targets. The statements that read households take the reader's Scope as $1 and
apply IN_SCOPE (tests/test_scope.py checks it); the denominators, targets and poor districts are province data and
read by anyone who may see progress."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.db.rows import many, one
from service.submissions.queries import IN_SCOPE

from .models import AreaCounts, AreaTotalRow, HouseholdTotalRow, PoorDistrictRow, TargetRow, YearCount

if TYPE_CHECKING:
    from service.auth.access import Scope
    from service.db.pool import Connection

    from .models import PoorDistrictIn, TargetIn

__all__ = [
    "HOUSING_NEW_VND",
    "HOUSING_REPAIR_VND",
    "PRIOR_STATUSES",
    "area_levels",
    "area_totals",
    "delete_household_total",
    "delete_target",
    "household_counts",
    "household_totals",
    "household_years",
    "manager_areas",
    "poor_districts",
    "set_household_total",
    "set_household_totals",
    "targets",
    "upsert_poor_district",
    "upsert_target",
]

# The housing support of the National Target Programme (Circular 01/2022/TT-BXD): 40 M VND for a new house, 20 M for
# a repair. An action's amount tells which one it is; without an amount, the household's answer does.
HOUSING_NEW_VND = 40_000_000
HOUSING_REPAIR_VND = 20_000_000

# The example form's answers these figures read (docs/review.md, "Progress"): the status before the review and the
# support a temporary house needs.
_PRIOR_STATUS = "cv.answers #>> '{g_hh,prior_status}'"
_SUPPORT_NEED = "cv.answers #>> '{g_house,house_support_need}'"
# The choices of prior_status. Each has a partial index on submission_versions (migration 0013_progress.sql) with
# exactly this predicate, so the versions with a status are read from the indexes, never from their answers (reading
# 100,000 households' answers takes seconds). Change the path here and there together, or counting gets slow.
PRIOR_STATUSES = ("poor", "near_poor", "escaped", "none")
_PRIOR = " union all ".join(
    f"select cv.id, '{status}' as status from submission_versions cv "
    f"where cv.form_id = $2 and {_PRIOR_STATUS} = '{status}'"
    for status in PRIOR_STATUSES
)
# A household's round is the year it arrived, in the offices' time zone ($4): the annual review runs from 1 September
# to 14 December, so a household arrives in the year of its review. A range on created_at, which the planner can use.
_IN_YEAR = (
    "s.created_at >= make_timestamptz($3, 1, 1, 0, 0, 0, $4) "
    "and s.created_at < make_timestamptz($3 + 1, 1, 1, 0, 0, 0, $4)"
)
# A household's class as the review knows it: the commune's final classification once recognised, else the server's
# (service/classification). Never the phone's provisional result.
_CLASS = "coalesce(s.final_classification, s.classification)"
_NOT_POOR = "('near_poor', 'average', 'other', 'screened_out')"


async def household_counts(conn: Connection, scope: Scope, form_id: int, year: int, zone: str) -> list[AreaCounts]:
    """Per district and commune (and in all) the households of `year` in the reader's scope, by class, by change
    since the status before the review, and their temporary houses. Rejected households do not count: rejecting
    says the record is not a household to count (a duplicate, a household that does not exist)."""
    async with conn.transaction():
        # Always plan with the values: asyncpg prepares statements, PostgreSQL switches a prepared statement to a
        # generic plan after five runs, and that plan guessed one household for the year and nested loops over all
        # of them (93 s instead of 0.1 s for 3,000 households).
        await conn.execute("set local plan_cache_mode = force_custom_plan")
        rows = await conn.fetch(
            f"""with prior as ({_PRIOR}), households as (
                select s.id, s.district_code, s.commune_code, s.current_version_id, {_CLASS} as class,
                       p.status as prior,
                       coalesce(s.classification_detail #>> '{{tempHouse2023,eligible}}' = 'true', false) as eligible
                from submissions s left join prior p on p.id = s.current_version_id
                where s.form_id = $2 and s.deleted_at is null and {IN_SCOPE}
                  and s.review_state is distinct from 'rejected' and {_IN_YEAR}
            ), housing as (
                -- A household's housing actions, whatever their number: the largest amount says new or repair.
                select p.submission_id, max(a.amount_vnd) as largest, coalesce(sum(a.amount_vnd), 0) as amount,
                       bool_or(a.done_on is not null) as finished
                from exit_plans p join exit_plan_actions a on a.plan_id = p.id
                where a.support_type = 'housing' and p.submission_id in (select id from households)
                group by p.submission_id
            ), supported as (
                select x.submission_id, x.amount, x.finished,
                       case when x.largest >= {HOUSING_NEW_VND} then 'new'
                            when x.largest >= {HOUSING_REPAIR_VND} then 'repair'
                            when need.answer = 'new_build' then 'new'
                            when need.answer = 'repair' then 'repair' end as kind
                from housing x join households h on h.id = x.submission_id
                -- The answer is read only for the few households with a housing action.
                left join lateral (select {_SUPPORT_NEED} as answer from submission_versions cv
                                   where cv.id = h.current_version_id) need on true
            )
            select case when grouping(h.district_code) = 1 then 'total'
                        when grouping(h.commune_code) = 1 then 'district' else 'commune' end as level,
                   h.district_code, h.commune_code,
                   count(*) as surveyed,
                   count(*) filter (where h.class = 'poor') as poor,
                   count(*) filter (where h.class = 'near_poor') as near_poor,
                   count(*) filter (where h.class is null or h.class = 'unclassified') as unclassified,
                   count(*) filter (where h.prior = 'poor' and h.class in {_NOT_POOR}) as escaped_poverty,
                   count(*) filter (where h.prior = 'near_poor' and h.class in ('average', 'other', 'screened_out'))
                       as escaped_near_poverty,
                   count(*) filter (where h.prior = 'escaped' and h.class = 'poor') as fell_back,
                   count(*) filter (where h.prior in ('none', 'near_poor') and h.class = 'poor') as newly_poor,
                   count(*) filter (where h.prior = 'none' and h.class = 'near_poor') as newly_near_poor,
                   count(*) filter (where h.eligible) as temp_eligible,
                   count(x.submission_id) as housing_supported,
                   count(*) filter (where x.kind = 'new') as housing_new,
                   count(*) filter (where x.kind = 'repair') as housing_repair,
                   count(*) filter (where x.finished) as housing_finished,
                   count(*) filter (where h.eligible and x.finished is not true) as temp_still_standing,
                   coalesce(sum(x.amount), 0)::bigint as housing_amount_vnd
            from households h left join supported x on x.submission_id = h.id
            group by grouping sets ((), (h.district_code), (h.district_code, h.commune_code))""",
            scope.area_filter,
            form_id,
            year,
            zone,
        )
    return many(rows, AreaCounts)


async def household_years(conn: Connection, scope: Scope, form_id: int, zone: str) -> list[YearCount]:
    """The rounds the reader's households belong to, newest first."""
    rows = await conn.fetch(
        f"""select extract(year from s.created_at at time zone $3)::int as year, count(*) as households
        from submissions s
        where s.form_id = $2 and s.deleted_at is null and {IN_SCOPE} and s.review_state is distinct from 'rejected'
        group by 1 order by 1 desc""",
        scope.area_filter,
        form_id,
        zone,
    )
    return many(rows, YearCount)


async def area_totals(conn: Connection, year: int) -> list[AreaTotalRow]:
    """The province, its districts and communes, each with its own total for `year` when one is stored."""
    rows = await conn.fetch(
        """select a.code, a.level, a.parent_code, a.name, a.name_en, t.households
        from areas a left join area_household_totals t on t.area_code = a.code and t.year = $1
        where a.level in ('province', 'district', 'commune')
        order by a.level, a.code""",
        year,
    )
    return many(rows, AreaTotalRow)


async def area_levels(conn: Connection, codes: list[str]) -> dict[str, str]:
    """code → level of the known areas among `codes`."""
    rows = await conn.fetch("select code, level from areas where code = any($1::text[])", codes)
    return {row["code"]: row["level"] for row in rows}


async def manager_areas(conn: Connection, user_id: int) -> list[list[str] | None]:
    """The areas of each manager role the user holds in a live project (None: the whole project)."""
    rows = await conn.fetch(
        """select r.area_codes from project_assignments r join projects p on p.id = r.project_id
        where r.user_id = $1 and r.role = 'manager' and p.deleted_at is null""",
        user_id,
    )
    return [None if row["area_codes"] is None else list(row["area_codes"]) for row in rows]


async def household_totals(conn: Connection, year: int | None) -> list[HouseholdTotalRow]:
    rows = await conn.fetch(
        """select area_code, year, households, updated_at from area_household_totals
        where $1::int is null or year = $1 order by year, area_code""",
        year,
    )
    return many(rows, HouseholdTotalRow)


async def set_household_totals(
    conn: Connection, codes: list[str], years: list[int], households: list[int], user_id: int | None
) -> None:
    await conn.execute(
        """insert into area_household_totals (area_code, year, households, updated_by)
        select code, year, households, $4 from unnest($1::text[], $2::int[], $3::int[]) as t(code, year, households)
        on conflict (area_code, year) do update set households = excluded.households,
            updated_by = excluded.updated_by, updated_at = now()
        where area_household_totals.households is distinct from excluded.households""",
        codes,
        years,
        households,
        user_id,
    )


async def set_household_total(
    conn: Connection, code: str, year: int, households: int, user_id: int | None
) -> HouseholdTotalRow:
    row = await conn.fetchrow(
        """insert into area_household_totals (area_code, year, households, updated_by) values ($1, $2, $3, $4)
        on conflict (area_code, year) do update set households = excluded.households,
            updated_by = excluded.updated_by, updated_at = now()
        returning area_code, year, households, updated_at""",
        code,
        year,
        households,
        user_id,
    )
    return one(row, HouseholdTotalRow)


async def delete_household_total(conn: Connection, code: str, year: int) -> bool:
    status = await conn.execute("delete from area_household_totals where area_code = $1 and year = $2", code, year)
    return status != "DELETE 0"


_TARGET = """area_code, year, poor_rate_percent::float8 as poor_rate_percent,
    near_poor_rate_percent::float8 as near_poor_rate_percent, source"""


async def targets(conn: Connection) -> list[TargetRow]:
    rows = await conn.fetch(f"select {_TARGET} from progress_targets order by area_code, year")
    return many(rows, TargetRow)


async def upsert_target(conn: Connection, code: str, year: int, target: TargetIn, user_id: int | None) -> TargetRow:
    row = await conn.fetchrow(
        f"""insert into progress_targets (area_code, year, poor_rate_percent, near_poor_rate_percent, source,
                updated_by)
        values ($1, $2, $3::float8::numeric, $4::float8::numeric, $5, $6)
        on conflict (area_code, year) do update set poor_rate_percent = excluded.poor_rate_percent,
            near_poor_rate_percent = excluded.near_poor_rate_percent, source = excluded.source,
            updated_by = excluded.updated_by, updated_at = now()
        returning {_TARGET}""",
        code,
        year,
        target.poor_rate_percent,
        target.near_poor_rate_percent,
        target.source,
        user_id,
    )
    return one(row, TargetRow)


async def delete_target(conn: Connection, code: str, year: int) -> bool:
    status = await conn.execute("delete from progress_targets where area_code = $1 and year = $2", code, year)
    return status != "DELETE 0"


_POOR_DISTRICT = """area_code, listed_from, listed_until, listed_by, exited_by,
    exit_poor_rate_percent::float8 as exit_poor_rate_percent, exit_rule_note"""


async def poor_districts(conn: Connection) -> list[PoorDistrictRow]:
    rows = await conn.fetch(f"select {_POOR_DISTRICT} from poor_districts order by area_code")
    return many(rows, PoorDistrictRow)


async def upsert_poor_district(
    conn: Connection, code: str, district: PoorDistrictIn, user_id: int | None
) -> PoorDistrictRow:
    row = await conn.fetchrow(
        f"""insert into poor_districts (area_code, listed_from, listed_until, listed_by, exited_by,
                exit_poor_rate_percent, exit_rule_note, updated_by)
        values ($1, $2, $3, $4, $5, $6::float8::numeric, $7, $8)
        on conflict (area_code) do update set listed_from = excluded.listed_from,
            listed_until = excluded.listed_until, listed_by = excluded.listed_by, exited_by = excluded.exited_by,
            exit_poor_rate_percent = excluded.exit_poor_rate_percent, exit_rule_note = excluded.exit_rule_note,
            updated_by = excluded.updated_by, updated_at = now()
        returning {_POOR_DISTRICT}""",
        code,
        district.listed_from,
        district.listed_until,
        district.listed_by,
        district.exited_by,
        district.exit_poor_rate_percent,
        district.exit_rule_note,
        user_id,
    )
    return one(row, PoorDistrictRow)
