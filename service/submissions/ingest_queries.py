"""The SQL of the ingest write path (service.py): the idempotency gate, versions, attachments, counts.

These statements run under the device's `submission.create` authority and never hand rows to a reader, so they
take no reader's scope; every read that shows households to someone lives in queries.py and takes one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from service.areas.fields import DeclaredAreas
from service.db.rows import many, one, optional

from .classified import Classified

if TYPE_CHECKING:
    from service.db.pool import Connection


__all__ = [
    "ExistingVersion",
    "NewSubmission",
    "NewVersion",
    "fill_missing_blobs",
    "find_version",
    "insert_attachments",
    "insert_submission",
    "insert_version",
    "lock_submission",
    "make_current",
    "refresh_counts",
    "set_attachment_blobs",
    "version_attachments",
]

Geopoint = tuple[float, float, float | None, float | None]


class NewVersion(msgspec.Struct, frozen=True):
    form_id: int
    instance_id: str
    deprecated_id: str | None
    form_version_id: int
    xml: str
    xml_sha256: bytes
    answers: Any
    instance_name: str | None
    submitter_user_id: int | None
    submitter_app_user_id: int | None
    device_id: str | None
    user_agent: str | None


class NewSubmission(msgspec.Struct, frozen=True):
    id: int
    form_id: int
    instance_id: str
    version_id: int
    form_version_id: int
    encrypted: bool
    instance_name: str | None
    submitter_user_id: int | None
    submitter_app_user_id: int | None
    device_id: str | None
    user_agent: str | None
    geopoint: Geopoint | None
    areas: DeclaredAreas
    classified: Classified | None


class ExistingVersion(msgspec.Struct, frozen=True):
    id: int
    submission_id: int
    xml_sha256: bytes
    is_current: bool
    deleted: bool


class _Inserted(msgspec.Struct, frozen=True):
    id: int
    submission_id: int


class _Recount(msgspec.Struct, frozen=True):
    expected: int
    present: int
    before: int


class _NameBlob(msgspec.Struct, frozen=True):
    name: str
    blob_id: int | None


async def insert_version(conn: Connection, version: NewVersion, submission_id: int | None) -> tuple[int, int] | None:
    """The idempotency gate: (version id, submission id) when this instanceID is new, None when it exists.

    A new submission takes its id from the submissions sequence here, so the version (the row that decides
    the race) can be written first; the submission row follows in the same transaction (deferred FK).
    """
    row = await conn.fetchrow(
        """insert into submission_versions
            (submission_id, form_id, instance_id, deprecated_id, form_version_id, xml, xml_sha256, answers,
             instance_name, submitter_user_id, submitter_app_user_id, device_id, user_agent, is_current)
        values (coalesce($1, nextval('submissions_id_seq')), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                $1::bigint is null)
        on conflict (form_id, instance_id) do nothing
        returning id, submission_id""",
        submission_id,
        version.form_id,
        version.instance_id,
        version.deprecated_id,
        version.form_version_id,
        version.xml,
        version.xml_sha256,
        version.answers,
        version.instance_name,
        version.submitter_user_id,
        version.submitter_app_user_id,
        version.device_id,
        version.user_agent,
    )
    inserted = optional(row, _Inserted)
    return (inserted.id, inserted.submission_id) if inserted else None


async def insert_submission(conn: Connection, submission: NewSubmission, *, expected: int, present: int) -> None:
    lat, lon, alt, acc = submission.geopoint or (None, None, None, None)
    await conn.execute(
        """insert into submissions
            (id, form_id, instance_id, current_version_id, form_version_id, encrypted, instance_name,
             submitter_user_id, submitter_app_user_id, device_id, latitude, longitude, altitude, accuracy,
             attachments_expected, attachments_present, district_code, commune_code, village_code, area_codes,
             user_agent, classification, classification_detail, provisional_classification, classification_mismatch)
        overriding system value
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
                household_area_codes($17, $18, $19), $20, $21, $22, $23, $24)""",
        submission.id,
        submission.form_id,
        submission.instance_id,
        submission.version_id,
        submission.form_version_id,
        submission.encrypted,
        submission.instance_name,
        submission.submitter_user_id,
        submission.submitter_app_user_id,
        submission.device_id,
        lat,
        lon,
        alt,
        acc,
        expected,
        present,
        submission.areas.district,
        submission.areas.commune,
        submission.areas.village,
        submission.user_agent,
        *_classification_columns(submission.classified),
    )


def _classification_columns(classified: Classified | None) -> tuple[Any, ...]:
    """classification, classification_detail, provisional_classification, classification_mismatch."""
    if classified is None:
        return None, None, None, None
    return classified.classification, classified.detail, classified.provisional, classified.mismatch


async def find_version(conn: Connection, form_id: int, instance_id: str) -> ExistingVersion | None:
    row = await conn.fetchrow(
        """select v.id, v.submission_id, v.xml_sha256, v.is_current, s.deleted_at is not null as deleted
        from submission_versions v join submissions s on s.id = v.submission_id
        where v.form_id = $1 and v.instance_id = $2""",
        form_id,
        instance_id,
    )
    return optional(row, ExistingVersion)


async def lock_submission(conn: Connection, submission_id: int) -> int | None:
    """Lock the submission row; return its current version id."""
    version_id: int | None = await conn.fetchval(
        "select current_version_id from submissions where id = $1 for update", submission_id
    )
    return version_id


async def make_current(
    conn: Connection,
    *,
    submission_id: int,
    old_version_id: int,
    new_version: NewVersion,
    new_version_id: int,
    geopoint: Geopoint | None,
    areas: DeclaredAreas,
    classified: Classified | None,
) -> None:
    """Switch the submission to an edited version (Central marks it `edited`); its classification is the new
    version's. A household the village meeting sent back for re-review is surveyed again once its edit arrives
    (service/stages/), recorded as a step by the sender."""
    await conn.execute("update submission_versions set is_current = false where id = $1", old_version_id)
    await conn.execute("update submission_versions set is_current = true where id = $1", new_version_id)
    lat, lon, alt, acc = geopoint or (None, None, None, None)
    await conn.execute(
        """with reopened as (
            insert into submission_stages
                (submission_id, version_id, actor_user_id, actor_app_user_id, from_stage, to_stage, note)
            select id, $2, $12, $13, 're_review', 'surveyed', 'edited after the village meeting sent it back'
            from submissions where id = $1 and stage = 're_review'
        )
        update submissions set current_version_id = $2, form_version_id = $3, instance_name = $4,
               latitude = $5, longitude = $6, altitude = $7, accuracy = $8, district_code = $9, commune_code = $10,
               village_code = $11, area_codes = household_area_codes($9, $10, $11), review_state = 'edited',
               stage = case when stage = 're_review' then 'surveyed' else stage end,
               stage_changed_at = case when stage = 're_review' then now() else stage_changed_at end,
               classification = $14, classification_detail = $15, provisional_classification = $16,
               classification_mismatch = $17
        where id = $1""",
        submission_id,
        new_version_id,
        new_version.form_version_id,
        new_version.instance_name,
        lat,
        lon,
        alt,
        acc,
        areas.district,
        areas.commune,
        areas.village,
        new_version.submitter_user_id,
        new_version.submitter_app_user_id,
        *_classification_columns(classified),
    )


async def insert_attachments(
    conn: Connection, version_id: int, attachments: list[tuple[str, str | None, int | None]]
) -> None:
    """(name, field path, blob id or None when it has not arrived yet)."""
    if not attachments:
        return
    await conn.execute(
        """insert into submission_attachments (submission_version_id, name, field_path, blob_id, received_at)
        select $1, a.name, a.path, a.blob, case when a.blob is null then null else now() end
        from unnest($2::text[], $3::text[], $4::bigint[]) as a(name, path, blob)""",
        version_id,
        [a[0] for a in attachments],
        [a[1] for a in attachments],
        [a[2] for a in attachments],
    )


async def version_attachments(conn: Connection, version_id: int) -> dict[str, int | None]:
    rows = await conn.fetch(
        "select name, blob_id from submission_attachments where submission_version_id = $1", version_id
    )
    return {row.name: row.blob_id for row in many(rows, _NameBlob)}


async def set_attachment_blobs(conn: Connection, version_id: int, blobs: dict[str, int]) -> int:
    """Fill or replace files of an existing version (split uploads, retries); unknown names are ignored.

    Returns how many files changed (a retry that sends the same bytes changes none).
    """
    if not blobs:
        return 0
    status = await conn.execute(
        """update submission_attachments a set blob_id = b.blob, received_at = now()
        from unnest($2::text[], $3::bigint[]) as b(name, blob)
        where a.submission_version_id = $1 and a.name = b.name and a.blob_id is distinct from b.blob""",
        version_id,
        list(blobs),
        list(blobs.values()),
    )
    return int(status.rpartition(" ")[2])


async def fill_missing_blobs(conn: Connection, version_id: int, blobs: dict[str, int]) -> None:
    if not blobs:
        return
    await conn.execute(
        """update submission_attachments a set blob_id = b.blob, received_at = now()
        from unnest($2::text[], $3::bigint[]) as b(name, blob)
        where a.submission_version_id = $1 and a.name = b.name and a.blob_id is null""",
        version_id,
        list(blobs),
        list(blobs.values()),
    )


async def refresh_counts(conn: Connection, submission_id: int) -> tuple[int, int, int]:
    """Recount the current version's files: (expected, present, present before)."""
    row = await conn.fetchrow(
        """with c as (select count(*) as expected, count(a.blob_id) as present
                      from submissions s2
                      join submission_attachments a on a.submission_version_id = s2.current_version_id
                      where s2.id = $1),
             old as (select attachments_present from submissions where id = $1)
        update submissions s set attachments_expected = c.expected, attachments_present = c.present
        from c, old
        where s.id = $1
        returning s.attachments_expected as expected, s.attachments_present as present,
                  old.attachments_present as before""",
        submission_id,
    )
    counts = one(row, _Recount)
    return counts.expected, counts.present, counts.before
