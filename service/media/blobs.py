"""Blob rows: one per distinct content, written after the bytes are safely in the store. All SQL on `blobs` is here.

The order matters for crash safety: bytes first (`store.put`), row second (inside the caller's transaction).
A crash in between leaves an unreferenced object, never a row pointing at nothing.
"""

from __future__ import annotations

import hashlib
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import msgspec

from service.db.rows import many, optional

from .sniff import sniff_content_type
from .store import StoreUnavailable

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator, Callable

    from service.db.pool import Connection, Pool

    from .store import BlobInfo, MediaStore, SpoolFile

__all__ = [
    "BlobRow",
    "NewBlob",
    "StoredContent",
    "blob_by_id",
    "claim_new_blobs",
    "discard_unreferenced",
    "removed_if_refused",
    "ensure_blob",
    "known_blobs",
    "md5_hex",
    "store_bytes",
    "store_stream",
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


async def upsert_blobs(conn: Connection, blobs: list[NewBlob]) -> dict[bytes, int]:
    """Insert the rows that are new; ids of all of them, by sha256.

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
        [b.sha256 for b in ordered],
        [b.size for b in ordered],
        [b.content_type for b in ordered],
        [b.storage_key for b in ordered],
    )
    return {row.sha256: row.id for row in many(rows, _IdBySha)}


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
