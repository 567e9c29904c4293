"""Exports of a form's households, streamed: a CSV of the households, a ZIP like ODK Central's (the households'
CSV, one CSV per repeat, and optionally the photos under media/), XLSX and GeoJSON.

    request            → needs export.read; the caller's Scope limits the rows, in SQL
    unchanged data     → 304 for an If-None-Match with the ETag of the same export (form's latest change, request,
                         scope), before any row is read
    many at once       → at most EXPORT_CONCURRENCY per process hold a database connection; the next is told to
                         retry (503), never queued behind them
    every export       → an audit entry (who, what, which filter)

One read-only, repeatable-read transaction covers every table and the media list of an export, so the files of a
ZIP agree with each other even while phones keep submitting.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from stream_zip import NO_COMPRESSION_64, ZIP_64, async_stream_zip

from service.audits import record_audit
from service.auth.access import Scope
from service.errors import Problem
from service.forms import reading as form_reading
from service.forms.access import authorized_form, select_version
from service.forms.choices import choice_source, instance_choices
from service.forms.collect import schema_for_version
from service.submissions.queries import HouseholdFilter

from . import queries, xlsx
from .plan import ExportOptions, Table, plan_tables

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.auth.access import Access
    from service.db.pool import Connection
    from service.forms.schema import FormSchema
    from service.resources import Resources

__all__ = ["Export", "audit_export", "prepare_export", "stream_csv", "stream_geojson", "stream_xlsx", "stream_zip"]

EXPORT_CONCURRENCY = 2
_slots: dict[int, asyncio.Semaphore] = {}
_COPY_QUEUE_CHUNKS = 16


class Export(msgspec.Struct, frozen=True):
    """Everything decided before the first byte: what, for whom, and its ETag."""

    xml_form_id: str
    form_id: int
    scope: Scope
    households: HouseholdFilter
    options: ExportOptions
    tables: list[Table]
    labels: dict[str, dict[str, str]] | None
    url_base: str
    etag: str


async def prepare_export(
    res: Resources,
    access: Access,
    xml_form_id: str,
    households: HouseholdFilter,
    options: ExportOptions,
    *,
    kind: Literal["csv", "zip", "xlsx", "geojson"],
    api_prefix: str = "/v1",
) -> Export:
    scope = access.scope("export.read")
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "export.read")
        version = await select_version(conn, form, "published")
        schema, _ = await schema_for_version(conn, version.id, version.xml_md5)
        stamp = await queries.export_stamp(conn, form.id)
    xml = (
        (await form_reading.read_form_xml(res, access, xml_form_id))[0].encode("utf-8")
        if _needs_choices(options)
        else b""
    )
    select_lists, split, labels = _choices(schema, xml, options)
    tables = plan_tables(schema, options, select_lists, split)
    url_base = f"{res.settings.origin}{api_prefix}/projects/{access.project_id}/forms/{xml_form_id}/submissions/"
    fingerprint = msgspec.json.encode([kind, form.id, version.id, stamp, households, options, scope.areas, url_base])
    return Export(
        xml_form_id=xml_form_id,
        form_id=form.id,
        scope=scope,
        households=households,
        options=options,
        tables=tables,
        labels=labels,
        url_base=url_base,
        etag=f'W/"{hashlib.sha256(fingerprint).hexdigest()[:32]}"',
    )


def _needs_choices(options: ExportOptions) -> bool:
    return options.labels is not None or options.split_select_multiples


def _choices(
    schema: FormSchema, xml: bytes, options: ExportOptions
) -> tuple[dict[str, str], dict[str, list[str]], dict[str, dict[str, str]] | None]:
    """For each select field: its list's name; each select_multiple's values (to split); each list's labels."""
    if not xml:
        return {}, {}, None
    select_lists: dict[str, str] = {}
    split: dict[str, list[str]] = {}
    labels: dict[str, dict[str, str]] = {}
    for field in schema.fields:
        if field.kind != "field":
            continue
        source = choice_source(xml, field.path)
        if source is None or source.csv_file is not None:
            continue  # not a select, or its choices are in a CSV attachment: values are exported as they are
        items = instance_choices(xml, source.instance_id)
        select_lists[field.path] = source.instance_id
        if field.select_multiple:
            split[field.path] = [item.name for item in items]
        if options.labels is not None:
            labels[source.instance_id] = {
                item.name: (item.label_en or item.label) if options.labels == "en" else item.label for item in items
            }
    return select_lists, split, labels if options.labels is not None else None


async def audit_export(res: Resources, access: Access, export: Export, kind: str) -> None:
    async with res.pool.acquire() as conn:
        await record_audit(
            conn,
            "submission.export",
            actor_user_id=access.actor.user_id,
            project_id=access.project_id,
            form_id=export.form_id,
            details={
                "format": kind,
                "filter": msgspec.to_builtins(export.households),
                "options": msgspec.to_builtins(export.options),
            },
        )


@contextlib.asynccontextmanager
async def _export_transaction(res: Resources) -> AsyncIterator[Connection]:
    """A connection for the length of one export, at most EXPORT_CONCURRENCY at once in this process."""
    slots = _slots.setdefault(id(res.pool), asyncio.Semaphore(EXPORT_CONCURRENCY))
    if slots.locked():
        raise Problem.busy("other exports", retry_after_s=30)
    async with slots, res.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        yield conn


async def _copied(conn: Connection, export: Export, table: Table) -> AsyncIterator[bytes]:
    """One table's CSV as PostgreSQL writes it, with backpressure: COPY waits while the client is slow."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=_COPY_QUEUE_CHUNKS)

    async def put(chunk: bytes) -> None:
        await queue.put(bytes(chunk))

    async def produce() -> None:
        try:
            await queries.copy_table(
                conn,
                export.scope,
                export.form_id,
                export.households,
                queries.table_sql(table),
                labels=export.labels,
                url_base=export.url_base,
                output=put,
            )
        finally:
            await queue.put(None)

    producer = asyncio.create_task(produce())
    try:
        while (chunk := await queue.get()) is not None:
            yield chunk
        await producer  # raise what COPY raised
    finally:
        if not producer.done():
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await producer


async def stream_csv(res: Resources, export: Export) -> AsyncIterator[bytes]:
    """The households' table alone (Central's submissions.csv)."""
    async with _export_transaction(res) as conn:
        async for chunk in _copied(conn, export, export.tables[0]):
            yield chunk


async def stream_zip(res: Resources, export: Export) -> AsyncIterator[bytes]:
    """Central's submissions.csv.zip: every table, then (unless options.media is off) media/<file name>."""
    now = datetime.now(UTC).replace(tzinfo=None)

    async with _export_transaction(res) as conn:
        media = (
            await queries.media_files(conn, export.scope, export.form_id, export.households)
            if export.options.media
            else []
        )

        async def members() -> AsyncIterator[Any]:
            for table in export.tables:
                yield table.file_name, now, 0o600, ZIP_64, _copied(conn, export, table)
            seen: set[str] = set()
            for file in media:
                name = _unique(file.name, seen)
                yield f"media/{name}", now, 0o600, NO_COMPRESSION_64, res.store.read(file.storage_key)

        async for chunk in async_stream_zip(members(), get_compressobj=_fast_deflate):
            yield chunk


def _fast_deflate() -> Any:
    import zlib

    # Level 1: CSV still shrinks about five-fold, at a fraction of level 9's CPU.
    return zlib.compressobj(wbits=-zlib.MAX_WBITS, level=1)


def _unique(name: str, seen: set[str]) -> str:
    """Collect names files by time, so names repeat only by accident; never let one overwrite another."""
    candidate, counter = name, 1
    while candidate in seen:
        stem, dot, suffix = name.rpartition(".")
        candidate = f"{stem}~{counter}.{suffix}" if dot else f"{name}~{counter}"
        counter += 1
    seen.add(candidate)
    return candidate


async def stream_geojson(res: Resources, export: Export) -> AsyncIterator[bytes]:
    """A FeatureCollection of the households (their main geopoint), written as it is read."""
    async with _export_transaction(res) as conn:
        yield b'{"type":"FeatureCollection","features":['
        first = True
        batch: list[str] = []
        async for feature in queries.geojson_features(conn, export.scope, export.form_id, export.households):
            batch.append(feature)
            if len(batch) >= 500:
                yield ("" if first else ",").encode() + ",".join(batch).encode()
                first, batch = False, []
        if batch:
            yield ("" if first else ",").encode() + ",".join(batch).encode()
        yield b"]}"


async def stream_xlsx(res: Resources, export: Export) -> AsyncIterator[bytes]:
    """An .xlsx with one sheet per table, in constant memory: SpreadsheetML rows written by PostgreSQL (inline
    strings, numbers as numbers), zipped as they come."""
    now = datetime.now(UTC).replace(tzinfo=None)
    names = xlsx.sheet_names([table.file_name.removesuffix(".csv") for table in export.tables])

    async with _export_transaction(res) as conn:

        async def sheet(table: Table) -> AsyncIterator[bytes]:
            yield xlsx.SHEET_HEAD.encode()
            yield xlsx.header_row(_headers_of(table)).encode()
            rows: list[str] = []
            sql = queries.sheet_sql(table)
            async for row in queries.sheet_rows(
                conn,
                export.scope,
                export.form_id,
                export.households,
                sql,
                labels=export.labels,
                url_base=export.url_base,
            ):
                rows.append(row)
                if len(rows) >= 200:
                    yield "".join(rows).encode()
                    rows = []
            yield ("".join(rows) + xlsx.SHEET_TAIL).encode()

        async def members() -> AsyncIterator[Any]:
            for path, content in xlsx.package_parts(names):
                yield path, now, 0o600, ZIP_64, _once(content)
            for index, table in enumerate(export.tables, start=1):
                yield f"xl/worksheets/sheet{index}.xml", now, 0o600, ZIP_64, sheet(table)

        async for chunk in async_stream_zip(members(), get_compressobj=_fast_deflate):
            yield chunk


def _headers_of(table: Table) -> list[str]:
    headers = [column.header for column in table.columns]
    return headers + (queries.ROOT_SYSTEM_HEADERS if table.is_root else ["PARENT_KEY", "KEY"])


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content
