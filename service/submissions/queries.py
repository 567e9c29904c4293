"""All SQL of the submissions capability."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from service.db.pool import Connection

__all__ = [
    "attachment_rows",
    "current_xml",
    "get_submission",
    "list_submissions",
    "list_versions",
    "ExistingVersion",
    "NewSubmission",
    "NewVersion",
    "fill_missing_blobs",
    "find_version",
    "insert_attachments",
    "insert_submission",
    "insert_version",
    "known_blobs",
    "lock_submission",
    "make_current",
    "refresh_counts",
    "set_attachment_blobs",
    "upsert_blobs",
    "version_attachments",
]


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
    geopoint: tuple[float, float, float | None, float | None] | None


class ExistingVersion(msgspec.Struct, frozen=True):
    id: int
    submission_id: int
    xml_sha256: bytes
    is_current: bool
    deleted: bool


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
    return (row["id"], row["submission_id"]) if row else None


async def insert_submission(conn: Connection, submission: NewSubmission, *, expected: int, present: int) -> None:
    lat, lon, alt, acc = submission.geopoint or (None, None, None, None)
    await conn.execute(
        """insert into submissions
            (id, form_id, instance_id, current_version_id, form_version_id, encrypted, instance_name,
             submitter_user_id, submitter_app_user_id, device_id, latitude, longitude, altitude, accuracy,
             attachments_expected, attachments_present)
        overriding system value
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)""",
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
    )


async def find_version(conn: Connection, form_id: int, instance_id: str) -> ExistingVersion | None:
    row = await conn.fetchrow(
        """select v.id, v.submission_id, v.xml_sha256, v.is_current, s.deleted_at is not null as deleted
        from submission_versions v join submissions s on s.id = v.submission_id
        where v.form_id = $1 and v.instance_id = $2""",
        form_id,
        instance_id,
    )
    return ExistingVersion(**row) if row else None


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
    new_version_id: int,
    form_version_id: int,
    instance_name: str | None,
    geopoint: tuple[float, float, float | None, float | None] | None,
) -> None:
    """Switch the submission to an edited version (Central marks it `edited`)."""
    await conn.execute("update submission_versions set is_current = false where id = $1", old_version_id)
    await conn.execute("update submission_versions set is_current = true where id = $1", new_version_id)
    lat, lon, alt, acc = geopoint or (None, None, None, None)
    await conn.execute(
        """update submissions set current_version_id = $2, form_version_id = $3, instance_name = $4,
               latitude = $5, longitude = $6, altitude = $7, accuracy = $8, review_state = 'edited',
               updated_at = now()
        where id = $1""",
        submission_id,
        new_version_id,
        form_version_id,
        instance_name,
        lat,
        lon,
        alt,
        acc,
    )


async def known_blobs(conn: Connection, sha256s: list[bytes]) -> dict[bytes, int]:
    rows = await conn.fetch("select sha256, id from blobs where sha256 = any($1::bytea[])", sha256s)
    return {row["sha256"]: row["id"] for row in rows}


async def upsert_blobs(conn: Connection, blobs: list[tuple[bytes, int, str, str]]) -> dict[bytes, int]:
    """Insert (sha256, size, content type, key) rows that are new; ids of all of them, by sha256.

    Sorted by hash so two transactions touching the same blobs lock them in the same order.
    """
    if not blobs:
        return {}
    ordered = sorted(set(blobs))
    rows = await conn.fetch(
        """insert into blobs (sha256, size, content_type, storage_key)
        select * from unnest($1::bytea[], $2::bigint[], $3::text[], $4::text[])
        on conflict (sha256) do update set sha256 = excluded.sha256
        returning sha256, id""",
        [b[0] for b in ordered],
        [b[1] for b in ordered],
        [b[2] for b in ordered],
        [b[3] for b in ordered],
    )
    return {row["sha256"]: row["id"] for row in rows}


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
    return {row["name"]: row["blob_id"] for row in rows}


async def set_attachment_blobs(conn: Connection, version_id: int, blobs: dict[str, int]) -> None:
    """Fill or replace files of an existing version (split uploads, retries); unknown names are ignored."""
    if not blobs:
        return
    await conn.execute(
        """update submission_attachments a set blob_id = b.blob, received_at = now()
        from unnest($2::text[], $3::bigint[]) as b(name, blob)
        where a.submission_version_id = $1 and a.name = b.name""",
        version_id,
        list(blobs),
        list(blobs.values()),
    )


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


async def refresh_counts(conn: Connection, submission_id: int) -> tuple[int, int]:
    row = await conn.fetchrow(
        """update submissions s set
            attachments_expected = c.expected, attachments_present = c.present,
            updated_at = case when s.attachments_present <> c.present then now() else s.updated_at end
        from (select count(*) as expected, count(a.blob_id) as present
              from submissions s2 join submission_attachments a on a.submission_version_id = s2.current_version_id
              where s2.id = $1) c
        where s.id = $1
        returning s.attachments_expected, s.attachments_present""",
        submission_id,
    )
    assert row is not None
    return row["attachments_expected"], row["attachments_present"]


_SUBMISSION = """s.instance_id, s.instance_name, s.review_state, s.encrypted, s.submitter_user_id,
    s.submitter_app_user_id, s.device_id, s.latitude, s.longitude, s.altitude, s.accuracy,
    s.attachments_expected, s.attachments_present, s.created_at, s.updated_at, v.instance_id as current_instance_id,
    fv.version as form_version"""
_FROM = """from submissions s
    join submission_versions v on v.id = s.current_version_id
    join form_versions fv on fv.id = s.form_version_id"""


async def list_submissions(conn: Connection, form_id: int, *, limit: int, offset: int) -> list[Any]:
    return await conn.fetch(
        f"""select {_SUBMISSION} {_FROM}
        where s.form_id = $1 and s.deleted_at is null
        order by s.created_at desc, s.id desc limit $2 offset $3""",
        form_id,
        limit,
        offset,
    )


async def get_submission(conn: Connection, form_id: int, instance_id: str) -> Any:
    return await conn.fetchrow(
        f"""select {_SUBMISSION}, s.id, s.current_version_id {_FROM}
        where s.form_id = $1 and s.instance_id = $2 and s.deleted_at is null""",
        form_id,
        instance_id,
    )


async def current_xml(conn: Connection, version_id: int) -> str:
    xml: str = await conn.fetchval("select xml from submission_versions where id = $1", version_id)
    return xml


async def list_versions(conn: Connection, submission_id: int) -> list[Any]:
    return await conn.fetch(
        """select instance_id, deprecated_id, instance_name, is_current, device_id, received_at
        from submission_versions where submission_id = $1 order by id desc""",
        submission_id,
    )


async def attachment_rows(conn: Connection, version_id: int) -> list[Any]:
    return await conn.fetch(
        """select a.name, a.blob_id is not null as exists, b.size, b.content_type, b.storage_key,
               encode(b.sha256, 'hex') as sha256
        from submission_attachments a left join blobs b on b.id = a.blob_id
        where a.submission_version_id = $1 order by a.name""",
        version_id,
    )
