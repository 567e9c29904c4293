"""Blob rows: one per distinct content, written after the bytes are safely in the store. All SQL on `blobs` is here.

The order matters for crash safety: bytes first (`store.put`), row second (inside the caller's transaction).
A crash in between leaves an unreferenced object, never a row pointing at nothing.
"""

from __future__ import annotations

import hashlib
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import msgspec

from service.db.rows import many, optional
from service.jobs.queue import enqueue_photo_analysis

from .sniff import IMAGE_TYPES, sniff_content_type
from .store import StoreUnavailable

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator, Callable

    from service.db.pool import Connection, Pool

    from .store import BlobInfo, MediaStore, SpoolFile

__all__ = [
    "BlobRow",
    "NewBlob",
    "StoredContent",
    "UnreferencedBlob",
    "blob_by_id",
    "claim_new_blobs",
    "delete_orphan_object",
    "delete_unreferenced_blob",
    "discard_unreferenced",
    "removed_if_refused",
    "ensure_blob",
    "known_blobs",
    "md5_hex",
    "objects_in_use",
    "purge_tombstones",
    "store_bytes",
    "store_stream",
    "unreferenced_blobs",
    "upsert_blobs",
]


class StoredContent(msgspec.Struct, frozen=True):
    """Content that is in the store, ready for a blob row."""

    sha256: str
    md5: str | None
    size: int
    content_type: str
    storage_key: str
    head: bytes


class BlobRow(msgspec.Struct, frozen=True):
    id: int
    sha256: str
    md5: str | None
    size: int
    content_type: str
    storage_key: str


async def store_stream(
    store: MediaStore,
    chunks: AsyncIterable[bytes],
    *,
    limit: int,
    want_md5: bool = False,
    accept: Callable[[str], None] | None = None,
) -> StoredContent:
    """Stream chunks into the store; nothing larger than a chunk is held in memory.

    `accept` sees the sniffed content type before anything is stored and may refuse it by raising: a refused
    file never reaches the store.
    """
    spool = store.spool(limit=limit, want_md5=want_md5)
    try:
        async for chunk in chunks:
            spool.write(chunk)
        info = spool.finish()
        if accept is not None:
            accept(sniff_content_type(info.head))
    except BaseException:
        # Too large, client gone, disk error, refused: nothing half-written may stay behind.
        spool.discard()
        raise
    return await _put(store, spool, info)


async def store_bytes(store: MediaStore, data: bytes, *, want_md5: bool = True) -> StoredContent:
    """Store small content already in memory (a form definition, a generated CSV)."""
    spool = store.spool(limit=len(data), want_md5=want_md5)
    try:
        spool.write(data)
        info = spool.finish()
    except BaseException:
        spool.discard()
        raise
    return await _put(store, spool, info)


async def _put(store: MediaStore, spool: SpoolFile, info: BlobInfo) -> StoredContent:
    content_type = sniff_content_type(info.head)
    key = await store.put(spool, info, content_type)
    return StoredContent(
        sha256=info.sha256,
        md5=info.md5,
        size=info.size,
        content_type=content_type,
        storage_key=key,
        head=info.head,
    )


async def ensure_blob(conn: Connection, content: StoredContent, *, content_type: str | None = None) -> int:
    """Insert the blob row or find the existing one (one statement, safe under concurrency)."""
    blob_id = await conn.fetchval(
        """insert into blobs (sha256, md5, size, content_type, storage_key)
        values ($1, $2, $3, $4, $5)
        on conflict (sha256) do update set md5 = coalesce(blobs.md5, excluded.md5)
        returning id""",
        bytes.fromhex(content.sha256),
        bytes.fromhex(content.md5) if content.md5 else None,
        content.size,
        content_type or content.content_type,
        content.storage_key,
    )
    return int(blob_id)


class NewBlob(msgspec.Struct, frozen=True, order=True):
    """A file just put in the store, for its row (sha256 is raw bytes here, as the column holds it)."""

    sha256: bytes
    size: int
    content_type: str
    storage_key: str


class _IdBySha(msgspec.Struct, frozen=True):
    sha256: bytes
    id: int


async def known_blobs(conn: Connection, sha256s: list[bytes]) -> dict[bytes, int]:
    """Ids of the contents the store already holds, by sha256 (so retries skip uploading them again)."""
    rows = await conn.fetch("select sha256, id from blobs where sha256 = any($1::bytea[])", sha256s)
    return {row.sha256: row.id for row in many(rows, _IdBySha)}


async def upsert_blobs(conn: Connection, blobs: list[NewBlob], *, analyse: bool = True) -> dict[bytes, int]:
    """Insert the rows that are new; ids of all of them, by sha256.

    Sorted by hash so two transactions touching the same blobs lock them in the same order. Images get their
    analysis job (EXIF, thumbnails, perceptual hash; service/evidence) in the same transaction, unless analysed or
    pending already; `analyse=False` for contents that are themselves derived (thumbnails).
    """
    if not blobs:
        return {}
    ordered = sorted(set(blobs))
    rows = await conn.fetch(
        """insert into blobs (sha256, size, content_type, storage_key)
        select * from unnest($1::bytea[], $2::bigint[], $3::text[], $4::text[])
        on conflict (sha256) do update set sha256 = excluded.sha256
        returning sha256, id""",
        [b.sha256 for b in ordered],
        [b.size for b in ordered],
        [b.content_type for b in ordered],
        [b.storage_key for b in ordered],
    )
    ids = {row.sha256: row.id for row in many(rows, _IdBySha)}
    if analyse:
        images = [ids[b.sha256] for b in ordered if b.content_type in IMAGE_TYPES]
        await enqueue_photo_analysis(conn, images)
    return ids


def _lock_key(sha256: bytes) -> int:
    """The advisory-lock key of a content: its first 8 bytes (collisions only serialise, never break, the protocol)."""
    return int.from_bytes(sha256[:8], "big", signed=True)


async def claim_new_blobs(conn: Connection, store: MediaStore, added: list[tuple[bytes, str]]) -> None:
    """In the transaction that will reference contents this request just put: make sure they are still there.

    Pairs with `discard_unreferenced`: a refused request deletes a content only under the exclusive lock and only
    when no blob row references it; here the shared lock is taken first, so either the delete happened before (the
    content is gone: answer 503 and let the client resend it) or it waits until this transaction has committed its
    row (and then sees the row and keeps the content).
    """
    if not added:
        return
    await conn.execute(
        "select pg_advisory_xact_lock_shared(k) from unnest($1::bigint[]) as k order by k",
        sorted({_lock_key(sha) for sha, _ in added}),
    )
    for _, key in added:
        if not await store.exists(key):
            raise StoreUnavailable("a file of this upload was removed by a concurrent refused upload; resend it")


async def discard_unreferenced(pool: Pool, store: MediaStore, added: list[tuple[bytes, str]]) -> None:
    """Remove contents a refused request put in the store, unless a blob row references them by now."""
    for sha, key in added:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("select pg_advisory_xact_lock($1)", _lock_key(sha))
            if await conn.fetchval("select 1 from blobs where sha256 = $1", sha) is None:
                await store.delete(key)


@asynccontextmanager
async def removed_if_refused(pool: Pool, store: MediaStore, added: list[tuple[bytes, str]]) -> AsyncIterator[None]:
    """Around the transaction that references contents a request just put: if the request is refused (4xx), those
    contents go again (unless used meanwhile by someone else); after a 5xx they stay for the client's retry."""
    try:
        yield
    except BaseException as exc:
        from service.problems import is_refusal

        if is_refusal(exc):
            await discard_unreferenced(pool, store, added)
        raise


async def blob_by_id(conn: Connection, blob_id: int) -> BlobRow | None:
    row = await conn.fetchrow(
        "select id, encode(sha256, 'hex') as sha256, encode(md5, 'hex') as md5, size, content_type, storage_key "
        "from blobs where id = $1",
        blob_id,
    )
    return optional(row, BlobRow)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


# Housekeeping (service/jobs/housekeeping.py): blob rows nothing references, and store objects no row names.


class UnreferencedBlob(msgspec.Struct, frozen=True):
    id: int
    sha256: bytes
    storage_key: str


class _Reference(msgspec.Struct, frozen=True):
    table_name: str
    column_name: str


async def _references(conn: Connection) -> list[_Reference]:
    """Every column that references a blob, read from the catalogue (so a table added later is honoured at once).
    Foreign keys that cascade (photo_analyses.blob_id) belong to the blob rather than reference it."""
    rows = await conn.fetch(
        """select c.conrelid::regclass::text as table_name, quote_ident(a.attname) as column_name
        from pg_constraint c
        join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any(c.conkey)
        where c.contype = 'f' and c.confrelid = 'blobs'::regclass and c.confdeltype <> 'c'
        order by 1, 2"""
    )
    return many(rows, _Reference)


def _unreferenced_predicate(references: list[_Reference]) -> str:
    return " and ".join(
        f"not exists (select 1 from {r.table_name} r where r.{r.column_name} = b.id)" for r in references
    ) or "true"


async def unreferenced_blobs(conn: Connection, *, older_than_s: float, limit: int) -> list[UnreferencedBlob]:
    """Blob rows older than `older_than_s` that no row references (a household purged, a draft replaced)."""
    predicate = _unreferenced_predicate(await _references(conn))
    rows = await conn.fetch(
        f"""select b.id, b.sha256, b.storage_key from blobs b
        where b.created_at < now() - make_interval(secs => $1) and {predicate}
        order by b.id limit $2""",
        float(older_than_s),
        limit,
    )
    return many(rows, UnreferencedBlob)


async def delete_unreferenced_blob(conn: Connection, blob: UnreferencedBlob) -> bool:
    """Remove the row if still unreferenced, leaving a tombstone; the file stays for the grace period (an upload that
    saw the row a moment ago did not store the file again and is about to write the row back).

    Under the content's exclusive advisory lock, like `discard_unreferenced`.
    """
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock($1)", _lock_key(blob.sha256))
        predicate = _unreferenced_predicate(await _references(conn))
        deleted = await conn.fetchval(
            f"delete from blobs b where b.id = $1 and {predicate} returning b.id",
            blob.id,
        )
        if deleted is None:
            return False
        await conn.execute(
            """insert into blob_tombstones (sha256, storage_key) values ($1, $2)
            on conflict (sha256) do update set deleted_at = now(), storage_key = excluded.storage_key""",
            blob.sha256,
            blob.storage_key,
        )
        return True


class _Presence(msgspec.Struct, frozen=True):
    sha256: bytes
    has_row: bool
    tombstone_fresh: bool


async def objects_in_use(conn: Connection, sha256s: list[bytes], *, grace_s: float) -> set[bytes]:
    """Of these contents, those a blob row names, or whose row was removed less than `grace_s` ago."""
    rows = await conn.fetch(
        """select k.sha256,
            exists (select 1 from blobs b where b.sha256 = k.sha256) as has_row,
            exists (select 1 from blob_tombstones t
                    where t.sha256 = k.sha256 and t.deleted_at > now() - make_interval(secs => $2)) as tombstone_fresh
        from unnest($1::bytea[]) as k(sha256)""",
        sha256s,
        float(grace_s),
    )
    return {row.sha256 for row in many(rows, _Presence) if row.has_row or row.tombstone_fresh}


async def delete_orphan_object(pool: Pool, store: MediaStore, key: str, sha256: bytes, *, grace_s: float) -> bool:
    """Delete a store object no blob row names, older than `grace_s`, safely against an upload in flight.

    An upload puts its file, then (in its transaction) takes the content's shared advisory lock and checks the file is
    still there before writing the row (`claim_new_blobs`). Here the exclusive lock is taken first, then the row, the
    tombstone and the object's age are checked again: a file put again by an upload in flight is young again (a
    rename on disk and a PUT on S3 both renew the time) and stays; if an upload puts it between that look and the
    delete, its claim finds the file gone and answers 503, and the phone sends it again. Never a row without a file.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("select pg_advisory_xact_lock($1)", _lock_key(sha256))
        if await objects_in_use(conn, [sha256], grace_s=grace_s):
            return False
        found = await store.stat(key)
        if found is None or found.modified > time.time() - grace_s:
            return False
        await store.delete(key)
        await conn.execute("delete from blob_tombstones where sha256 = $1", sha256)
        return True


async def purge_tombstones(conn: Connection, *, older_than_s: float) -> int:
    status = await conn.execute(
        "delete from blob_tombstones where deleted_at < now() - make_interval(secs => $1)", float(older_than_s)
    )
    return int(status.rpartition(" ")[2])
