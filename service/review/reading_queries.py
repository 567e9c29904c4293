"""SQL of review's read side for people (service/review/reading.py): the area summary, who submitted what the reader
may see, one household's current answers and its place in the queue. Every statement reads households, so each
takes the reader's Scope as $1 and applies IN_SCOPE (tests/test_scope.py checks it)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from service.db.rows import many, optional
from service.submissions.queries import IN_SCOPE

if TYPE_CHECKING:
    from service.auth.access import Scope
    from service.db.pool import Connection

__all__ = [
    "TEMP_HOUSE_FIELD",
    "TEMP_HOUSE_PATH",
    "AreaSummaryRow",
    "HouseholdAnswersRow",
    "QueuePosition",
    "SubmitterOption",
    "area_summary",
    "household_answers",
    "queue_position",
    "submitters",
]


# The answer that marks a temporary (dilapidated) house in the example form, looked for by name anywhere in the
# answers. A per-form setting can replace it later; until then the migration's partial index has the same path.
TEMP_HOUSE_FIELD = "temp_house_flag"
TEMP_HOUSE_PATH = f"""'$.** ? (@.{TEMP_HOUSE_FIELD} == "yes")'"""


class AreaSummaryRow(msgspec.Struct, frozen=True):
    # "total" (everything the reader sees), "district" (its total) or "commune".
    level: str
    district_code: str | None
    district_name: str | None
    district_name_en: str | None
    commune_code: str | None
    commune_name: str | None
    commune_name_en: str | None
    received: int
    approved: int
    rejected: int
    flagged: int
    open: int
    temp_houses: int


class SubmitterOption(msgspec.Struct, frozen=True):
    id: int
    name: str


class HouseholdAnswersRow(msgspec.Struct, frozen=True):
    answers: dict[str, Any] | None
    district_name: str | None
    district_name_en: str | None
    commune_name: str | None
    commune_name_en: str | None
    village_name: str | None
    village_name_en: str | None


class QueuePosition(msgspec.Struct, frozen=True):
    id: int
    created_at: datetime
    risk_score: int | None


async def area_summary(conn: Connection, scope: Scope, form_id: int) -> list[AreaSummaryRow]:
    """Households per district and commune (and in all) by review state, and the approved ones whose current answers
    say TEMP_HOUSE_FIELD = 'yes' anywhere (a group or a repeat). Only households in the reader's scope count.

    The temporary-house test is the predicate of a partial index on submission_versions (migration
    `*_review_site.sql`), so the versions that pass it are read from that index, never parsed here."""
    rows = await conn.fetch(
        f"""with counted as (
            select s.district_code, s.commune_code,
                   case when grouping(s.district_code) = 1 then 'total'
                        when grouping(s.commune_code) = 1 then 'district' else 'commune' end as level,
                   count(*) as received,
                   count(*) filter (where s.review_state = 'approved') as approved,
                   count(*) filter (where s.review_state = 'rejected') as rejected,
                   count(*) filter (where s.review_state = 'hasIssues') as flagged,
                   count(*) filter (where s.review_state is null or s.review_state = 'edited') as open,
                   count(*) filter (where s.review_state = 'approved' and s.current_version_id in (
                       select v.id from submission_versions v
                       where v.form_id = $2 and v.answers @? {TEMP_HOUSE_PATH})) as temp_houses
            from submissions s
            where s.form_id = $2 and s.deleted_at is null and {IN_SCOPE}
            group by grouping sets ((), (s.district_code), (s.district_code, s.commune_code))
        )
        select c.level, c.district_code, d.name as district_name, d.name_en as district_name_en,
               c.commune_code, m.name as commune_name, m.name_en as commune_name_en,
               c.received, c.approved, c.rejected, c.flagged, c.open, c.temp_houses
        from counted c
        left join areas d on d.code = c.district_code
        left join areas m on m.code = c.commune_code
        order by c.level = 'total' desc, coalesce(d.name, c.district_code) nulls last, c.district_code nulls last,
                 c.level = 'district' desc, coalesce(m.name, c.commune_code) nulls last""",
        scope.area_filter,
        form_id,
    )
    return many(rows, AreaSummaryRow)


async def submitters(conn: Connection, scope: Scope, form_id: int) -> list[SubmitterOption]:
    """Everyone (app users and web users) who sent a household of the form that the reader may see."""
    rows = await conn.fetch(
        f"""with sent as (
            select distinct s.submitter_user_id, s.submitter_app_user_id from submissions s
            where s.form_id = $2 and s.deleted_at is null and {IN_SCOPE}
              and coalesce(s.submitter_user_id, s.submitter_app_user_id) is not null
        )
        select coalesce(x.submitter_user_id, x.submitter_app_user_id) as id,
               coalesce(nullif(u.display_name, ''), u.email, a.display_name, '?') as name
        from sent x
        left join users u on u.id = x.submitter_user_id
        left join app_users a on a.id = x.submitter_app_user_id
        order by 2, 1""",
        scope.area_filter,
        form_id,
    )
    return many(rows, SubmitterOption)


async def household_answers(
    conn: Connection, scope: Scope, form_id: int, instance_id: str
) -> HouseholdAnswersRow | None:
    """The current version's answers, and the names of the household's areas."""
    row = await conn.fetchrow(
        f"""select v.answers, d.name as district_name, d.name_en as district_name_en,
               c.name as commune_name, c.name_en as commune_name_en,
               g.name as village_name, g.name_en as village_name_en
        from submissions s
        join submission_versions v on v.id = s.current_version_id
        left join areas d on d.code = s.district_code
        left join areas c on c.code = s.commune_code
        left join areas g on g.code = s.village_code
        where s.form_id = $2 and s.instance_id = $3 and s.deleted_at is null and {IN_SCOPE}""",
        scope.area_filter,
        form_id,
        instance_id,
    )
    return optional(row, HouseholdAnswersRow)


async def queue_position(conn: Connection, scope: Scope, form_id: int, instance_id: str) -> QueuePosition | None:
    """Where the household stands in each of the queue's orders: (created_at, id) and (risk_score, id)."""
    row = await conn.fetchrow(
        f"""select s.id, s.created_at, s.risk_score from submissions s
        where s.form_id = $2 and s.instance_id = $3 and s.deleted_at is null and {IN_SCOPE}""",
        scope.area_filter,
        form_id,
        instance_id,
    )
    return optional(row, QueuePosition)
