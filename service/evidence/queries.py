"""SQL of photo evidence: photo analyses, the evidence checks of households, and the reads behind both.

Every read of households takes a Scope as $1 and applies IN_SCOPE (tests/test_scope.py). The worker checks a
household on behalf of its project: `Scope(project_id, areas=None)`, the whole project and nothing else (each query
also keeps to `scope.project_id`). The API passes the caller's scope, so other households sharing a photo are
only named when the caller may see them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from service.db.rows import many, optional
from service.submissions.queries import IN_SCOPE

if TYPE_CHECKING:
    from service.auth.access import Scope
    from service.db.pool import Connection

    from .checks import Check, CommuneStats
    from .photo import PhotoFacts

__all__ = [
    "BANDS",
    "CheckRow",
    "HouseholdRow",
    "OtherHousehold",
    "PhotoRow",
    "Sharing",
    "SimilarBlob",
    "analysis_exists",
    "commune_stats",
    "form_project",
    "household",
    "household_by_instance",
    "household_checks",
    "household_photos",
    "households_by_ids",
    "previous_others",
    "replace_checks",
    "save_analysis",
    "set_evidence_summary",
    "sharing_households",
    "similar_blobs",
]

# The four 16-bit bands of the 64-bit hash, as the migration indexes them (shift, as SQL).
BANDS = (48, 32, 16, 0)


class HouseholdRow(msgspec.Struct, frozen=True):
    id: int
    form_id: int
    instance_id: str
    current_version_id: int
    form_version_id: int
    # The version's XForm hash: with the version id, the key of the schema cache (forms/collect.py).
    form_xml_md5: str
    encrypted: bool
    deleted: bool
    latitude: float | None
    longitude: float | None
    accuracy: float | None
    commune_code: str | None
    answers: Any
    received_at: datetime
    risk_score: int | None
    evidence_info: int
    evidence_warn: int
    evidence_risk: int
    evidence_version_id: int | None
    evidence_checked_at: datetime | None


class PhotoRow(msgspec.Struct, frozen=True):
    """A file of the household's current version, with its photo analysis when there is one."""

    name: str
    field_path: str | None
    blob_id: int | None
    content_type: str | None
    sha256: str | None
    size: int | None
    storage_key: str | None
    status: str | None
    reason: str | None
    format: str | None
    width: int | None
    height: int | None
    orientation: int | None
    has_exif: bool | None
    make: str | None
    model: str | None
    software: str | None
    taken_local: str | None
    taken_offset: str | None
    taken_at: datetime | None
    taken_zone_assumed: bool | None
    gps_latitude: float | None
    gps_longitude: float | None
    gps_altitude: float | None
    gps_accuracy: float | None
    gps_time: datetime | None
    phash: int | None
    small_key: str | None
    small_size: int | None
    small_sha256: str | None
    large_key: str | None
    large_size: int | None
    large_sha256: str | None
    large_is_original: bool | None


class CheckRow(msgspec.Struct, frozen=True):
    code: str
    severity: Literal["info", "warn", "risk"]
    attachment_name: str | None
    reason_vi: str
    reason_en: str
    facts: dict[str, Any]
    other_submission_id: int | None
    created_at: datetime


class Sharing(msgspec.Struct, frozen=True):
    blob_id: int
    submission_id: int
    form_id: int


class SimilarBlob(msgspec.Struct, frozen=True):
    blob_id: int
    distance: int


class OtherHousehold(msgspec.Struct, frozen=True):
    id: int
    instance_id: str
    xml_form_id: str


class _Others(msgspec.Struct, frozen=True):
    other_submission_id: int


class _Stats(msgspec.Struct, frozen=True):
    households: int
    latitude: float | None
    longitude: float | None
    spread_m: float | None


# Photos (contents: no household is read)


async def analysis_exists(conn: Connection, blob_id: int) -> bool:
    return bool(await conn.fetchval("select exists (select 1 from photo_analyses where blob_id = $1)", blob_id))


async def save_analysis(
    conn: Connection,
    blob_id: int,
    facts: PhotoFacts,
    *,
    small_id: int | None,
    large_id: int | None,
    large_is_original: bool,
) -> None:
    """Once per content: a concurrent or repeated analysis of the same bytes changes nothing."""
    await conn.execute(
        """insert into photo_analyses (blob_id, status, reason, format, width, height, orientation, has_exif, make,
            model, software, taken_local, taken_offset, taken_at, taken_zone_assumed, gps_latitude, gps_longitude,
            gps_altitude, gps_accuracy, gps_time, phash, thumb_small_blob_id, thumb_large_blob_id, large_is_original)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
                $23, $24)
        on conflict (blob_id) do nothing""",
        blob_id,
        facts.status,
        facts.reason,
        facts.format,
        facts.width,
        facts.height,
        facts.orientation,
        facts.has_exif,
        facts.make,
        facts.model,
        facts.software,
        facts.taken_local,
        facts.taken_offset,
        facts.taken_at,
        facts.taken_zone_assumed,
        facts.gps_latitude,
        facts.gps_longitude,
        facts.gps_altitude,
        facts.gps_accuracy,
        facts.gps_time,
        facts.phash,
        small_id,
        large_id,
        large_is_original,
    )


def band_probes(phash: int, radius: int) -> list[list[int]]:
    """Per band, every 16-bit value within `radius` bits of the hash's own (multi-index hashing probes)."""
    probes = []
    for shift in BANDS:
        value = (phash >> shift) & 0xFFFF
        found = {value}
        frontier = {value}
        for _ in range(radius):
            frontier = {v ^ (1 << bit) for v in frontier for bit in range(16)} - found
            found |= frontier
        probes.append(sorted(found))
    return probes


async def similar_blobs(conn: Connection, phash: int, *, max_distance: int, exclude: list[int]) -> list[SimilarBlob]:
    """Photo contents whose dHash is within `max_distance` bits of `phash`.

    By the pigeonhole principle two 64-bit hashes within distance d agree within floor(d / 4) bits on at least one
    of the four 16-bit bands, so probing each band's btree with those values finds every candidate; bit_count then
    checks the whole hash. With d ≤ 7 that is 17 probes per band.
    """
    probes = band_probes(phash, max_distance // 4)
    rows = await conn.fetch(
        """select blob_id, bit_count((phash # $1)::bit(64))::int as distance from photo_analyses
        where phash is not null
          and (((phash >> 48) & 65535) = any($2::bigint[]) or ((phash >> 32) & 65535) = any($3::bigint[])
               or ((phash >> 16) & 65535) = any($4::bigint[]) or (phash & 65535) = any($5::bigint[]))
          and bit_count((phash # $1)::bit(64)) <= $6
          and blob_id <> all($7::bigint[])
        order by distance, blob_id
        limit 200""",
        phash,
        *probes,
        max_distance,
        exclude,
    )
    return many(rows, SimilarBlob)


# Households, read on behalf of a scope


async def form_project(conn: Connection, form_id: int) -> int | None:
    project_id: int | None = await conn.fetchval("select project_id from forms where id = $1", form_id)
    return project_id


_HOUSEHOLD = """select s.id, s.form_id, s.instance_id, s.current_version_id, s.form_version_id, s.encrypted,
    s.deleted_at is not null as deleted, s.latitude, s.longitude, s.accuracy, s.commune_code, v.answers,
    v.received_at, s.risk_score, s.evidence_info, s.evidence_warn, s.evidence_risk, s.evidence_version_id,
    s.evidence_checked_at, fv.xml_md5 as form_xml_md5
    from submissions s
    join submission_versions v on v.id = s.current_version_id
    join form_versions fv on fv.id = s.form_version_id
    join forms f on f.id = s.form_id"""


async def household(conn: Connection, scope: Scope, form_id: int, submission_id: int) -> HouseholdRow | None:
    row = await conn.fetchrow(
        f"""{_HOUSEHOLD}
        where s.id = $2 and s.form_id = $3 and f.project_id = $4 and {IN_SCOPE}""",
        scope.area_filter,
        submission_id,
        form_id,
        scope.project_id,
    )
    return optional(row, HouseholdRow)


async def household_by_instance(conn: Connection, scope: Scope, form_id: int, instance_id: str) -> HouseholdRow | None:
    row = await conn.fetchrow(
        f"""{_HOUSEHOLD}
        where s.form_id = $2 and s.instance_id = $3 and s.deleted_at is null and f.project_id = $4 and {IN_SCOPE}""",
        scope.area_filter,
        form_id,
        instance_id,
        scope.project_id,
    )
    return optional(row, HouseholdRow)


async def household_photos(conn: Connection, scope: Scope, submission_id: int) -> list[PhotoRow]:
    rows = await conn.fetch(
        f"""select a.name, a.field_path, a.blob_id, b.content_type, encode(b.sha256, 'hex') as sha256, b.size,
               b.storage_key, p.status, p.reason, p.format, p.width, p.height, p.orientation, p.has_exif, p.make,
               p.model, p.software, p.taken_local, p.taken_offset, p.taken_at, p.taken_zone_assumed,
               p.gps_latitude, p.gps_longitude, p.gps_altitude, p.gps_accuracy, p.gps_time, p.phash,
               small.storage_key as small_key, small.size as small_size, encode(small.sha256, 'hex') as small_sha256,
               large.storage_key as large_key, large.size as large_size, encode(large.sha256, 'hex') as large_sha256,
               p.large_is_original
        from submissions s
        join submission_attachments a on a.submission_version_id = s.current_version_id
        left join blobs b on b.id = a.blob_id
        left join photo_analyses p on p.blob_id = a.blob_id
        left join blobs small on small.id = p.thumb_small_blob_id
        left join blobs large on large.id = p.thumb_large_blob_id
        where s.id = $2 and {IN_SCOPE}
        order by a.name""",
        scope.area_filter,
        submission_id,
    )
    return many(rows, PhotoRow)


async def sharing_households(
    conn: Connection, scope: Scope, blob_ids: list[int], *, exclude_submission_id: int
) -> list[Sharing]:
    """Other households of the scope's project whose current version shows one of these contents."""
    if not blob_ids:
        return []
    rows = await conn.fetch(
        f"""select distinct a.blob_id, s.id as submission_id, s.form_id
        from submission_attachments a
        join submissions s on s.current_version_id = a.submission_version_id
        join forms f on f.id = s.form_id
        where a.blob_id = any($2::bigint[]) and s.id <> $3 and s.deleted_at is null and f.project_id = $4
          and {IN_SCOPE}
        order by s.id, a.blob_id""",
        scope.area_filter,
        blob_ids,
        exclude_submission_id,
        scope.project_id,
    )
    return many(rows, Sharing)


async def commune_stats(
    conn: Connection, scope: Scope, commune_code: str, *, exclude_submission_id: int
) -> CommuneStats | None:
    """The median point of the commune's other located households, and their median distance from it (metres,
    equirectangular: exact enough within a commune)."""
    from .checks import CommuneStats

    row = await conn.fetchrow(
        f"""with others as (
            select s.latitude as lat, s.longitude as lon
            from submissions s join forms f on f.id = s.form_id
            where f.project_id = $2 and s.commune_code = $3 and s.id <> $4 and s.deleted_at is null
              and s.latitude is not null and s.longitude is not null and {IN_SCOPE}
        ), centre as (
            select count(*)::int as n, percentile_cont(0.5) within group (order by lat) as lat,
                   percentile_cont(0.5) within group (order by lon) as lon
            from others
        )
        select c.n as households, c.lat as latitude, c.lon as longitude,
            (select percentile_cont(0.5) within group (order by sqrt(
                power((o.lat - c.lat) * 110574, 2) + power((o.lon - c.lon) * 111320 * cos(radians(c.lat)), 2)))
             from others o) as spread_m
        from centre c""",
        scope.area_filter,
        scope.project_id,
        commune_code,
        exclude_submission_id,
    )
    stats = optional(row, _Stats)
    if stats is None or stats.households == 0 or stats.latitude is None or stats.longitude is None:
        return None
    return CommuneStats(stats.households, stats.latitude, stats.longitude, stats.spread_m or 0.0)


async def households_by_ids(conn: Connection, scope: Scope, ids: list[int]) -> list[OtherHousehold]:
    """Those of these households the scope reaches (others are simply left out)."""
    if not ids:
        return []
    rows = await conn.fetch(
        f"""select s.id, s.instance_id, f.xml_form_id
        from submissions s join forms f on f.id = s.form_id
        where s.id = any($2::bigint[]) and s.deleted_at is null and f.project_id = $3 and {IN_SCOPE}""",
        scope.area_filter,
        ids,
        scope.project_id,
    )
    return many(rows, OtherHousehold)


# Evidence checks


async def household_checks(conn: Connection, scope: Scope, submission_id: int) -> list[CheckRow]:
    """The checks of the household's current version (none before its first check)."""
    rows = await conn.fetch(
        f"""select c.code, c.severity, c.attachment_name, c.reason_vi, c.reason_en, c.facts, c.other_submission_id,
               c.created_at
        from submissions s join evidence_checks c on c.submission_id = s.id and c.version_id = s.current_version_id
        where s.id = $2 and {IN_SCOPE}
        order by case c.severity when 'risk' then 0 when 'warn' then 1 else 2 end, c.id""",
        scope.area_filter,
        submission_id,
    )
    return many(rows, CheckRow)


async def previous_others(conn: Connection, submission_id: int) -> set[int]:
    """The other households this household's stored checks already link to (any version)."""
    rows = await conn.fetch(
        """select distinct other_submission_id from evidence_checks
        where submission_id = $1 and other_submission_id is not null""",
        submission_id,
    )
    return {row.other_submission_id for row in many(rows, _Others)}


async def replace_checks(conn: Connection, submission_id: int, version_id: int, checks: list[Check]) -> None:
    """The version's checks, rewritten whole: running the checks again never duplicates one."""
    await conn.execute(
        "delete from evidence_checks where submission_id = $1 and version_id = $2", submission_id, version_id
    )
    if not checks:
        return
    await conn.executemany(
        """insert into evidence_checks (submission_id, version_id, code, severity, attachment_name, reason_vi,
            reason_en, facts, other_submission_id)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        [
            (
                submission_id,
                version_id,
                c.code,
                c.severity,
                c.attachment_name,
                c.reason_vi,
                c.reason_en,
                c.facts,
                c.other_submission_id,
            )
            for c in checks
        ],
    )


async def set_evidence_summary(
    conn: Connection, submission_id: int, version_id: int, *, score: int, counts: dict[str, int]
) -> None:
    await conn.execute(
        """update submissions set risk_score = $3, evidence_info = $4, evidence_warn = $5, evidence_risk = $6,
            evidence_version_id = $2, evidence_checked_at = now()
        where id = $1""",
        submission_id,
        version_id,
        score,
        counts["info"],
        counts["warn"],
        counts["risk"],
    )
