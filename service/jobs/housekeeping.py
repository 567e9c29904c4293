"""The periodic housekeeping sweep (a recurring job, key 'sweep'): what crashes and time leave behind.

1. Blob rows nothing references any more and older than the grace period: the row goes (under the content's
   advisory lock), a tombstone keeps the file for another grace period (media/blobs.py explains why).
2. Store objects no blob row names (files put by an upload or a photo job that crashed before its commit), older
   than the grace period, and not tombstoned recently: deleted under the same lock, with the checks repeated
   (`delete_orphan_object`). The store is listed a page at a time; memory stays flat whatever its size.
3. Old tombstones, finished jobs past `jobs_keep_s`, and sign-in failure counters whose window is long over.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from service.media.blobs import (
    delete_orphan_object,
    delete_unreferenced_blob,
    objects_in_use,
    purge_tombstones,
    unreferenced_blobs,
)

from . import queries
from .context import Outcome

if TYPE_CHECKING:
    from service.media.store import StoredObject
    from service.resources import Resources

    from .context import JobContext

__all__ = ["run_sweep", "sweep"]

log = logging.getLogger(__name__)

_BATCH = 500
# One sweep removes at most this many blob rows; the rest wait for the next sweep.
_MAX_ROWS_PER_SWEEP = 20_000


async def run_sweep(ctx: JobContext) -> Outcome:
    await sweep(ctx.res)
    return Outcome("again", float(ctx.res.settings.housekeeping_interval_s))


async def sweep(res: Resources) -> dict[str, int]:
    settings = res.settings
    grace = float(settings.media_orphan_grace_s)
    counts = {"blobRows": 0, "objects": 0, "tombstones": 0, "jobs": 0, "signInFailures": 0}
    async with res.pool.acquire() as conn:
        while counts["blobRows"] < _MAX_ROWS_PER_SWEEP:
            batch = await unreferenced_blobs(conn, older_than_s=grace, limit=_BATCH)
            removed = [await delete_unreferenced_blob(conn, blob) for blob in batch]
            counts["blobRows"] += sum(removed)
            if len(batch) < _BATCH or not any(removed):
                break
    page: list[StoredObject] = []
    async for found in res.store.list():
        page.append(found)
        if len(page) >= _BATCH:
            counts["objects"] += await _sweep_objects(res, page, grace)
            page = []
    counts["objects"] += await _sweep_objects(res, page, grace)
    async with res.pool.acquire() as conn:
        # A tombstone has done its work once its file is gone or reclaimed (two grace periods at most).
        counts["tombstones"] = await purge_tombstones(conn, older_than_s=2 * grace)
        counts["jobs"] = await queries.purge_finished(conn, older_than_s=settings.jobs_keep_s)
        counts["signInFailures"] = await queries.purge_sign_in_failures(conn, window_s=settings.sign_in_window_s)
    log.info("housekeeping sweep: %s", counts)
    return counts


async def _sweep_objects(res: Resources, page: list[StoredObject], grace: float) -> int:
    if not page:
        return 0
    newest_allowed = time.time() - grace
    old = [o for o in page if o.modified < newest_allowed]
    if not old:
        return 0
    async with res.pool.acquire() as conn:
        in_use = await objects_in_use(conn, [bytes.fromhex(o.sha256) for o in old], grace_s=grace)
    deleted = 0
    for found in old:
        sha = bytes.fromhex(found.sha256)
        if sha in in_use:
            continue
        if await delete_orphan_object(res.pool, res.store, found.key, sha, grace_s=grace):
            log.info("housekeeping: deleted %s, which no blob row names", found.key)
            deleted += 1
    return deleted
