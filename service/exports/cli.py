"""`survey export`: the same exports as the HTTP routes, written to a file on this machine.

The file appears under its final name only when it is complete (written as `<name>.partial`, flushed, renamed), so
an interrupted run never leaves something that looks like an export.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.submissions import queries as submission_queries

from . import service

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from service.resources import Resources
    from service.submissions.queries import HouseholdFilter

    from .plan import ExportOptions

__all__ = ["EXTENSIONS", "Kind", "export_to_file"]

Kind = Literal["csv", "zip", "xlsx", "geojson"]
EXTENSIONS: dict[Kind, str] = {"zip": ".csv.zip", "csv": ".csv", "xlsx": ".xlsx", "geojson": ".geojson"}


async def export_to_file(
    res: Resources,
    *,
    project_id: int,
    xml_form_id: str,
    kind: Kind,
    households: HouseholdFilter,
    options: ExportOptions,
    output: Path,
    progress: Callable[[int, int], None] | None = None,
    started: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Write one export to `output`; returns (households, bytes). `started` hears the household count first,
    `progress` the bytes written so far after every chunk."""
    access = await access_to(res, SYSTEM, project_id)
    export = await service.prepare_export(res, access, xml_form_id, households, options, kind=kind)
    async with res.pool.acquire() as conn:
        total = await submission_queries.count_households(conn, export.scope, export.form_id, households)
    if started is not None:
        started(total)
    await service.audit_export(res, access, export, f"cli:{kind}")
    partial = output.with_name(output.name + ".partial")
    written = 0
    try:
        with partial.open("wb") as sink:
            async for chunk in _body(res, kind, export):
                sink.write(chunk)
                written += len(chunk)
                if progress is not None:
                    progress(written, total)
            sink.flush()
            os.fsync(sink.fileno())
        partial.replace(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return total, written


def _body(res: Resources, kind: Kind, export: service.Export) -> AsyncIterator[bytes]:
    if kind == "zip":
        return service.stream_zip(res, export)
    if kind == "csv":
        return service.stream_csv(res, export)
    if kind == "xlsx":
        return service.stream_xlsx(res, export)
    return service.stream_geojson(res, export)
