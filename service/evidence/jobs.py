"""The two evidence jobs the worker runs: analyse one photo content, check one household.

photo (key: blob id), once per content: read the bytes from the store, analyse them in the CPU pool (photo.py),
store the thumbnails (content-addressed blobs, put before their rows like every blob), then one transaction writes
the thumbnail rows and the analysis. Idempotent: an analysis that exists ends the job at once, and the insert
ignores a concurrent twin.

evidence (key: form id:submission id): gather what is known about the household's current version, let checks.py
decide, and rewrite the version's checks, its risk score and counts in one transaction (a change of kind
`evidence` is recorded when the result changed). It waits (defers, no attempt spent) while a photo of the household
is still being analysed. Households newly found to share a photo are asked to check again too, in a transaction of
their own before the results (so two households checking each other never lock each other's rows).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.auth.access import Scope
from service.forms.collect import schema_for_version
from service.jobs import queries as job_queries
from service.jobs.context import Outcome, hold_point
from service.jobs.queue import enqueue_evidence, enqueue_photo_analysis, parse_evidence_key
from service.media.blobs import NewBlob, blob_by_id, claim_new_blobs, known_blobs, upsert_blobs
from service.media.sniff import IMAGE_TYPES
from service.submissions.changes import record_change

from . import queries
from .checks import HouseholdFacts, PhotoEvidence, Reuse, count_by_severity, evaluate, risk_score
from .photo import PhotoAnalysis, PhotoFacts, analyse_photo

if TYPE_CHECKING:
    from service.db.pool import Connection
    from service.jobs.context import JobContext
    from service.media.store import MediaStore

    from .config import EvidenceConfig
    from .queries import HouseholdRow, PhotoRow

__all__ = ["run_evidence_job", "run_photo_job"]

log = logging.getLogger(__name__)

# How long an evidence job waits before asking again whether its photos are analysed.
_PHOTO_WAIT_S = 2.0


# photo


async def run_photo_job(ctx: JobContext) -> Outcome:
    res, conn = ctx.res, ctx.conn
    blob_id = int(ctx.job.key)
    if await queries.analysis_exists(conn, blob_id):
        return Outcome()
    blob = await blob_by_id(conn, blob_id)
    if blob is None:
        return Outcome()  # the content is gone (swept): nothing to analyse
    if blob.size > res.settings.evidence_max_photo_bytes:
        analysis = PhotoAnalysis(facts=PhotoFacts(status="unreadable", reason="the file is too large to analyse"))
    else:
        try:
            data = b"".join([chunk async for chunk in res.store.read(blob.storage_key)])
        except FileNotFoundError:
            data = None
        if data is None:
            analysis = PhotoAnalysis(
                facts=PhotoFacts(status="unreadable", reason="the file is missing from the media store")
            )
        else:
            analysis = await ctx.in_cpu_pool(_analyse, data, res.settings.max_image_pixels, ctx.evidence)
    thumbnails = [t for t in (analysis.small, analysis.large) if t is not None]
    added = await _put_thumbnails(conn, res.store, thumbnails)
    async with conn.transaction():
        await claim_new_blobs(conn, res.store, added)
        rows = [NewBlob(_sha(t), len(t), "image/jpeg", res.store.key_for(_sha(t).hex())) for t in thumbnails]
        ids = await upsert_blobs(conn, rows, analyse=False)
        await hold_point("job.photo.before_commit")
        await queries.save_analysis(
            conn,
            blob_id,
            analysis.facts,
            small_id=ids[_sha(analysis.small)] if analysis.small else None,
            large_id=ids[_sha(analysis.large)] if analysis.large else None,
            large_is_original=analysis.large_is_original,
        )
    return Outcome()


def _analyse(data: bytes, max_pixels: int, config: EvidenceConfig) -> PhotoAnalysis:
    return analyse_photo(data, max_pixels=max_pixels, zone=config.zone)


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


async def _put_thumbnails(conn: Connection, store: MediaStore, thumbnails: list[bytes]) -> list[tuple[bytes, str]]:
    """Put the thumbnails the store does not know yet; (sha256, key) of those put, for claim_new_blobs."""
    if not thumbnails:
        return []
    known = await known_blobs(conn, [_sha(t) for t in thumbnails])
    added = []
    for data in thumbnails:
        sha = _sha(data)
        if sha in known:
            continue
        spool = store.spool(limit=len(data))
        try:
            spool.write(data)
            info = spool.finish()
        except BaseException:
            spool.discard()
            raise
        key = await store.put(spool, info, "image/jpeg")
        added.append((sha, key))
    return added


# evidence


async def run_evidence_job(ctx: JobContext) -> Outcome:
    config, conn = ctx.evidence, ctx.conn
    form_id, submission_id = parse_evidence_key(ctx.job.key)
    project_id = await queries.form_project(conn, form_id)
    if project_id is None:
        return Outcome()
    # The worker checks on behalf of the household's project: all of it, nothing else.
    scope = Scope(project_id=project_id, areas=None)
    row = await queries.household(conn, scope, form_id, submission_id)
    if row is None or row.deleted:
        return Outcome()
    photo_rows = await queries.household_photos(conn, scope, submission_id)
    photos = await _photo_evidence(conn, photo_rows)
    if photos is None:
        return Outcome("defer", _PHOTO_WAIT_S)
    facts, sharing = await _household_facts(conn, scope, row, photos, photo_rows, config)
    previous = await queries.previous_others(conn, submission_id)
    checks = evaluate(facts, config)
    score = risk_score(checks, config)
    counts = count_by_severity(checks)
    others = {reuse.other_submission_id for reuse in facts.reuses}
    newly = sorted(others - previous)
    if newly:
        # They should learn that they share a photo with this household too.
        form_of = {s.submission_id: s.form_id for s in sharing}
        async with conn.transaction():
            await enqueue_evidence(conn, [(form_of[other], other) for other in newly if other in form_of])
    changed = (row.risk_score, row.evidence_info, row.evidence_warn, row.evidence_risk, row.evidence_version_id) != (
        score,
        counts["info"],
        counts["warn"],
        counts["risk"],
        row.current_version_id,
    )
    async with conn.transaction():
        await queries.replace_checks(conn, submission_id, row.current_version_id, checks)
        await queries.set_evidence_summary(conn, submission_id, row.current_version_id, score=score, counts=counts)
        await hold_point("job.evidence.before_commit")
        if changed:
            await record_change(
                conn,
                form_id=form_id,
                submission_id=submission_id,
                kind="evidence",
                version_id=row.current_version_id,
                details={"riskScore": score, **counts},
            )
    return Outcome()


async def _photo_evidence(conn: Connection, rows: list[PhotoRow]) -> list[PhotoEvidence] | None:
    """The household's photos with their analyses; None while one is still being analysed (the job waits)."""
    images = [r for r in rows if r.blob_id is not None and r.content_type in IMAGE_TYPES]
    unanalysed = [r.blob_id for r in images if r.status is None and r.blob_id is not None]
    states = await job_queries.pending_states(conn, "photo", [str(b) for b in unanalysed]) if unanalysed else {}
    waiting = [b for b in unanalysed if states.get(str(b)) != "failed"]
    if waiting:
        # Pending: wait for it. No job at all (or done without a row: a race): ask for one, then wait.
        missing = [b for b in waiting if states.get(str(b)) not in {"queued", "running"}]
        if missing:
            async with conn.transaction():
                await enqueue_photo_analysis(conn, missing)
        return None
    evidence = []
    for r in rows:
        is_image = r.blob_id is None or r.content_type in IMAGE_TYPES
        state: Any = None
        if r.blob_id is not None and is_image:
            state = "done" if r.status is not None else "failed"
        evidence.append(
            PhotoEvidence(
                name=r.name,
                field_path=r.field_path,
                received=r.blob_id is not None,
                analysis_state=state,
                facts=_facts_of(r) if r.status is not None else None,
                blob_id=r.blob_id,
            )
        )
    return evidence


def _facts_of(row: PhotoRow) -> PhotoFacts:
    return PhotoFacts(
        status="ok" if row.status == "ok" else "unreadable",
        reason=row.reason,
        format=row.format,
        width=row.width,
        height=row.height,
        orientation=row.orientation,
        has_exif=bool(row.has_exif),
        make=row.make,
        model=row.model,
        software=row.software,
        taken_local=row.taken_local,
        taken_offset=row.taken_offset,
        taken_at=row.taken_at,
        taken_zone_assumed=bool(row.taken_zone_assumed),
        gps_latitude=row.gps_latitude,
        gps_longitude=row.gps_longitude,
        gps_altitude=row.gps_altitude,
        gps_accuracy=row.gps_accuracy,
        gps_time=row.gps_time,
        phash=row.phash,
    )


async def _household_facts(
    conn: Connection,
    scope: Scope,
    row: HouseholdRow,
    photos: list[PhotoEvidence],
    photo_rows: list[PhotoRow],
    config: EvidenceConfig,
) -> tuple[HouseholdFacts, list[queries.Sharing]]:
    answers: dict[str, Any] = row.answers if isinstance(row.answers, dict) else {}
    required_missing = await _required_missing(conn, row, answers)
    commune = None
    if row.commune_code and row.latitude is not None and row.longitude is not None:
        commune = await queries.commune_stats(conn, scope, row.commune_code, exclude_submission_id=row.id)
    boundary = None
    boundaries = config.boundaries
    if boundaries is not None and row.latitude is not None and row.longitude is not None:
        boundary = boundaries.commune_at(row.latitude, row.longitude) or ""
    reuses, sharing = await _reuses(conn, scope, row, photo_rows, config)
    facts = HouseholdFacts(
        encrypted=row.encrypted,
        latitude=row.latitude,
        longitude=row.longitude,
        accuracy=row.accuracy,
        commune_code=row.commune_code,
        start=_timestamp(answers.get("start")),
        end=_timestamp(answers.get("end")),
        received_at=row.received_at,
        photos=photos,
        required_missing=required_missing,
        commune=commune,
        boundary_commune=boundary,
        reuses=reuses,
    )
    return facts, sharing


async def _reuses(
    conn: Connection, scope: Scope, row: HouseholdRow, photo_rows: list[PhotoRow], config: EvidenceConfig
) -> tuple[list[Reuse], list[queries.Sharing]]:
    images = [r for r in photo_rows if r.blob_id is not None and r.content_type in IMAGE_TYPES]
    own = sorted({r.blob_id for r in images if r.blob_id is not None})
    names: dict[int, list[str]] = {}
    for r in images:
        if r.blob_id is not None:
            names.setdefault(r.blob_id, []).append(r.name)
    found: dict[tuple[str, int], Reuse] = {}
    sharing = await queries.sharing_households(conn, scope, own, exclude_submission_id=row.id)
    for share in sharing:
        for name in names[share.blob_id]:
            found[(name, share.submission_id)] = Reuse(name, share.submission_id, "identical", 0)
    similar_sharing: list[queries.Sharing] = []
    for r in images:
        if r.phash is None or r.blob_id is None:
            continue
        similar = await queries.similar_blobs(
            conn, r.phash, max_distance=config.settings.evidence_phash_max_distance, exclude=own
        )
        if not similar:
            continue
        distance = {s.blob_id: s.distance for s in similar}
        shares = await queries.sharing_households(conn, scope, list(distance), exclude_submission_id=row.id)
        similar_sharing += shares
        for share in shares:
            key = (r.name, share.submission_id)
            candidate = Reuse(r.name, share.submission_id, "similar", distance[share.blob_id])
            if key not in found or (found[key].match == "similar" and found[key].distance > candidate.distance):
                found[key] = candidate
    return sorted(found.values(), key=lambda x: (x.name, x.other_submission_id)), sharing + similar_sharing


async def _required_missing(conn: Connection, row: HouseholdRow, answers: dict[str, Any]) -> list[str]:
    """Required image questions outside repeats whose answer is present but empty. (An absent answer is a question
    the form skipped as not relevant, which is not missing.)"""
    if row.encrypted:
        return []
    schema, fields = await schema_for_version(conn, row.form_version_id, row.form_xml_md5)
    missing = []
    for field in fields.values():
        if not (field.required and (field.mediatype or "").startswith("image/")):
            continue
        if any(field.path.startswith(f"{repeat}/") for repeat in schema.repeats):
            continue
        present, value = _answer_at(answers, field.path)
        if present and value in (None, ""):
            missing.append(field.name)
    return sorted(missing)


def _answer_at(answers: dict[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = answers
    for part in path.strip("/").split("/")[1:]:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
