"""All SQL of the areas capability."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.db.rows import many

from .models import AreaRow

if TYPE_CHECKING:
    from service.db.pool import Connection

    from .models import NewArea

__all__ = ["lineage", "list_areas", "refresh_household_areas", "set_area_fields", "upsert_areas"]


async def upsert_areas(conn: Connection, areas: list[NewArea]) -> int:
    """Insert or rename areas, parents first (the caller orders them province → village)."""
    if not areas:
        return 0
    status = await conn.execute(
        """insert into areas (code, level, parent_code, name, name_en)
        select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
        on conflict (code) do update set level = excluded.level, parent_code = excluded.parent_code,
            name = excluded.name, name_en = coalesce(excluded.name_en, areas.name_en), updated_at = now()
        where (areas.level, areas.parent_code, areas.name, areas.name_en)
              is distinct from (excluded.level, excluded.parent_code, excluded.name, excluded.name_en)""",
        [a.code for a in areas],
        [a.level for a in areas],
        [a.parent_code for a in areas],
        [a.name for a in areas],
        [a.name_en for a in areas],
    )
    return int(status.rpartition(" ")[2])


async def list_areas(conn: Connection, *, level: str | None, parent_code: str | None) -> list[AreaRow]:
    rows = await conn.fetch(
        """select code, level, parent_code, name, name_en from areas
        where ($1::text is null or level = $1) and ($2::text is null or parent_code = $2)
        order by level, code""",
        level,
        parent_code,
    )
    return many(rows, AreaRow)


async def set_area_fields(conn: Connection, form_id: int, fields: dict[str, str] | None) -> None:
    await conn.execute("update forms set area_fields = $2, updated_at = now() where id = $1", form_id, fields)


async def refresh_household_areas(
    conn: Connection, form_id: int, district: list[str] | None, commune: list[str] | None, village: list[str] | None
) -> int:
    """Recompute every household's area of a form from its current answers (the paths are answer keys); each one
    that moved is recorded as an `areas` change. Returns how many moved."""
    status = await conn.execute(
        """with declared as (
            select s.id,
                   nullif(left(v.answers #>> $2::text[], 40), '') as district,
                   nullif(left(v.answers #>> $3::text[], 40), '') as commune,
                   case when lower(v.answers #>> $4::text[]) in ('other', 'khac') then null
                        else nullif(left(v.answers #>> $4::text[], 40), '') end as village
            from submissions s join submission_versions v on v.id = s.current_version_id
            where s.form_id = $1
        )
        , updated as (
            update submissions s
            set district_code = d.district, commune_code = d.commune, village_code = d.village,
                area_codes = household_area_codes(d.district, d.commune, d.village), updated_at = now()
            from declared d
            where s.id = d.id
              and (s.district_code, s.commune_code, s.village_code, s.area_codes) is distinct from
                  (d.district, d.commune, d.village, household_area_codes(d.district, d.commune, d.village))
            returning s.id, s.form_id, s.current_version_id
        )
        -- Each household whose area moved is a change the feed and the central copy must see (changes.py).
        insert into submission_changes (form_id, submission_id, kind, version_id)
        select form_id, id, 'areas', current_version_id from updated""",
        form_id,
        district,
        commune,
        village,
    )
    return int(status.rpartition(" ")[2])


async def lineage(conn: Connection, codes: list[str]) -> dict[str, set[str]]:
    """code → the code itself and every area above it (known areas only)."""
    rows = await conn.fetch(
        """with recursive up as (
            select code as start, code, parent_code from areas where code = any($1::text[])
            union all
            select u.start, a.code, a.parent_code from areas a join up u on a.code = u.parent_code
        )
        select start, array_agg(code) as codes from up group by start""",
        codes,
    )
    return {row["start"]: set(row["codes"]) for row in rows}
