"""Ingest: the one place that decides what a received submission means and stores it crash-safely.

    new instanceID                    → a new submission (201)
    known instanceID, identical XML   → files added or replaced: Collect's split uploads and retries (201)
    known instanceID, different XML   → 409, nothing changes
    meta/deprecatedID = current one   → a new version; the old is kept, review state `edited`, files carried over

Write order (crash safety): what can be refused is refused before a byte is stored (a known instanceID with other
XML, a stale or unknown deprecatedID, a deleted household, a file that is not the image it claims to be); then files
go to the media store; then one transaction writes blob rows, the version, the submission and its attachment rows
with the server's classification of that version's answers (classified.py, computed before the transaction), and
records the change (changes.py); only after commit does the caller answer 201. If the transaction still refuses
(another request won a race), the files this request added are removed again unless someone else now uses them
(media/blobs.py). A crash before the commit leaves at most unreferenced files for the housekeeping sweep; a crash
after it is repaired by Collect's retry (identical XML).
Concurrency: the unique (form, instanceID) on versions decides every race through INSERT … ON CONFLICT.
Authority: the caller's Access must grant `submission.create` (checked once, in memory, before anything is read).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Literal

import msgspec

from service.areas.fields import DeclaredAreas, declared_areas
from service.errors import Problem
from service.faults import fault_point
from service.forms.collect import submission_target
from service.media.blobs import NewBlob, claim_new_blobs, known_blobs, removed_if_refused, upsert_blobs
from service.media.sniff import IMAGE_TYPES, check_image, sniff_content_type

from . import ingest_queries as queries
from .changes import record_change
from .classified import classification_rules
from .xml import SubmissionXmlError, extract_answers, parse_submission, valid_file_name

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.db.pool import Connection
    from service.forms.collect import SubmissionTarget
    from service.media.store import BlobInfo
    from service.openrosa.multipart import ReceivedFile, ReceivedSubmission
    from service.resources import Resources

    from .classified import Classified
    from .xml import SubmissionFacts

__all__ = ["IngestResult", "ingest_submission"]

log = logging.getLogger(__name__)

# Parse small documents inline; anything bigger goes to a thread so one household cannot stall the loop.
_INLINE_XML_BYTES = 64 * 1024


class IngestResult(msgspec.Struct, frozen=True):
    outcome: Literal["created", "duplicate", "edited"]
    submission_id: int
    instance_id: str
    expected: int
    present: int


class _Expected(msgspec.Struct, frozen=True):
    names: list[tuple[str, str | None]]  # (file name, field path)
    images: frozenset[str]


class _Stored(msgspec.Struct, frozen=True):
    name: str
    sha256: bytes
    size: int
    content_type: str
    key: str
    # Put in the store by this request (it had no blob row before), so this request must not leave it behind.
    new: bool


async def ingest_submission(
    res: Resources,
    access: Access,
    received: ReceivedSubmission,
    *,
    device_id: str | None,
    user_agent: str | None,
) -> IngestResult:
    """Store a received submission; always consumes `received` (its spool files are gone afterwards)."""
    actor = access.actor
    try:
        access.require("submission.create")
        facts = await _parse(received.xml)
        async with res.pool.acquire() as conn:
            target = await submission_target(conn, access, facts.form_id, facts.version)
            await _refuse_early(conn, target.form_id, facts)
            rules = await classification_rules(conn, target)
        answers = None
        geopoint = None
        areas = DeclaredAreas()
        classified = None
        if target.encrypted or facts.encrypted:
            if not facts.encrypted:
                raise Problem.unexpected_value(
                    "xml_submission_file", "this form is encrypted but the submission is not"
                )
            expected = _Expected(names=[(name, None) for name in facts.encrypted_files], images=frozenset())
        else:
            extracted = extract_answers(facts.root, target.fields)
            answers, geopoint = extracted.data, extracted.geopoint
            areas = declared_areas(target.area_fields, answers)
            classified = rules.classify(answers) if rules is not None else None
            expected = _expected_files(extracted.files, target)
        stored = await _store_files(res, received, expected)
    finally:
        received.discard()
    version = queries.NewVersion(
        form_id=target.form_id,
        instance_id=facts.instance_id,
        deprecated_id=facts.deprecated_id,
        form_version_id=target.form_version_id,
        xml=received.xml.decode("utf-8", errors="replace"),
        xml_sha256=facts.xml_sha256,
        answers=answers,
        instance_name=facts.instance_name,
        submitter_user_id=actor.user_id,
        submitter_app_user_id=actor.id if actor.kind == "app_user" else None,
        device_id=device_id,
        user_agent=user_agent[:500] if user_agent else None,
    )
    added = [(s.sha256, s.key) for s in stored.values() if s.new]
    async with removed_if_refused(res.pool, res.store, added), res.pool.acquire() as conn, conn.transaction():
        await claim_new_blobs(conn, res.store, added)
        blobs = [NewBlob(s.sha256, s.size, s.content_type, s.key) for s in stored.values()]
        blob_ids = await upsert_blobs(conn, blobs)
        files = {name: blob_ids[s.sha256] for name, s in stored.items()}
        result = await _record(conn, version, target, expected, files, _Place(geopoint, areas), classified)
        fault_point("submission.before_commit")
    return result


async def _refuse_early(conn: Connection, form_id: int, facts: SubmissionFacts) -> None:
    """The refusals known before any file is stored (the same rules _record applies again, race-safe, later)."""
    existing = await queries.find_version(conn, form_id, facts.instance_id)
    if existing is not None:
        if existing.deleted:
            raise Problem.submission_deleted()
        if existing.xml_sha256 != facts.xml_sha256:
            raise Problem.xml_conflict()
        return  # a resend of this very version: files are added or replaced
    if facts.deprecated_id is not None and facts.deprecated_id != facts.instance_id:
        edit_of = await queries.find_version(conn, form_id, facts.deprecated_id)
        if edit_of is None:
            raise Problem.deprecated_id_not_found(facts.deprecated_id)
        if edit_of.deleted:
            raise Problem.submission_deleted()
        if not edit_of.is_current:
            raise Problem.deprecating_old_submission(facts.deprecated_id)


async def _parse(xml: bytes) -> SubmissionFacts:
    try:
        if len(xml) <= _INLINE_XML_BYTES:
            return parse_submission(xml)
        return await asyncio.to_thread(parse_submission, xml)
    except SubmissionXmlError as exc:
        raise Problem.bad_submission_xml(str(exc)) from None


def _expected_files(files: list[tuple[str, str]], target: SubmissionTarget) -> _Expected:
    names: list[tuple[str, str | None]] = []
    images = set()
    for name, path in files:
        if not valid_file_name(name):
            raise Problem.unsafe_file_name(name)
        names.append((name, path))
        field = target.fields.get(path)
        if field is not None and (field.mediatype or "").startswith("image/"):
            images.add(name)
    return _Expected(names=names, images=frozenset(images))


async def _store_files(res: Resources, received: ReceivedSubmission, expected: _Expected) -> dict[str, _Stored]:
    """Check and store the parts the XML references; ignore the rest (Collect sends the whole folder)."""
    wanted = [received.files[name] for name, _ in expected.names if name in received.files]
    checks = [_content_type(res, file, file.name in expected.images) for file in wanted]
    content_types = await asyncio.gather(*checks)
    # Skip uploading what the store already has: retries and split uploads resend the same photos.
    async with res.pool.acquire() as conn:
        known = await known_blobs(conn, [bytes.fromhex(_info(f).sha256) for f in wanted])
    stored: dict[str, _Stored] = {}
    puts = []
    for file, content_type in zip(wanted, content_types, strict=True):
        info = _info(file)
        sha = bytes.fromhex(info.sha256)
        key = res.store.key_for(info.sha256)
        stored[file.name] = _Stored(file.name, sha, info.size, content_type, key, new=sha not in known)
        if sha not in known:
            puts.append(res.store.put(file.spool, info, content_type))
    await asyncio.gather(*puts)
    return stored


def _info(file: ReceivedFile) -> BlobInfo:
    if file.info is None:
        raise Problem.unparseable("multipart/form-data", f"the part {file.name} ended early")
    return file.info


async def _content_type(res: Resources, file: ReceivedFile, must_be_image: bool) -> str:
    info = _info(file)
    content_type = sniff_content_type(info.head)
    if not must_be_image:
        return content_type
    if content_type not in IMAGE_TYPES:
        raise Problem.not_an_image(file.name, f"its content looks like {content_type}")
    check = await asyncio.to_thread(check_image, file.spool.path, max_pixels=res.settings.max_image_pixels)
    if not check.ok:
        raise Problem.not_an_image(file.name, check.reason)
    return content_type


class _Place(msgspec.Struct, frozen=True):
    """Where the household is: its main geopoint and the areas its answers declare."""

    geopoint: tuple[float, float, float | None, float | None] | None
    areas: DeclaredAreas


async def _record(
    conn: Connection,
    version: queries.NewVersion,
    target: SubmissionTarget,
    expected: _Expected,
    files: dict[str, int],
    place: _Place,
    classified: Classified | None,
) -> IngestResult:
    edit_of = None
    if version.deprecated_id is not None and version.deprecated_id != version.instance_id:
        edit_of = await queries.find_version(conn, version.form_id, version.deprecated_id)
        if edit_of is None:
            raise Problem.deprecated_id_not_found(version.deprecated_id)
        if edit_of.deleted:
            raise Problem.submission_deleted()
    inserted = await queries.insert_version(conn, version, edit_of.submission_id if edit_of else None)
    if inserted is None:
        return await _add_files(conn, version, files)
    version_id, submission_id = inserted
    if edit_of is None:
        await queries.insert_attachments(conn, version_id, [(n, p, files.get(n)) for n, p in expected.names])
        present = sum(1 for n, _ in expected.names if n in files)
        await queries.insert_submission(
            conn,
            queries.NewSubmission(
                id=submission_id,
                form_id=version.form_id,
                instance_id=version.instance_id,
                version_id=version_id,
                form_version_id=version.form_version_id,
                encrypted=target.encrypted,
                instance_name=version.instance_name,
                submitter_user_id=version.submitter_user_id,
                submitter_app_user_id=version.submitter_app_user_id,
                device_id=version.device_id,
                user_agent=version.user_agent,
                geopoint=place.geopoint,
                areas=place.areas,
                classified=classified,
            ),
            expected=len(expected.names),
            present=present,
        )
        await record_change(
            conn, form_id=version.form_id, submission_id=submission_id, kind="created", version_id=version_id
        )
        return IngestResult("created", submission_id, version.instance_id, len(expected.names), present)
    return await _edit(conn, version, version_id, submission_id, edit_of, expected, files, place, classified)


async def _edit(
    conn: Connection,
    version: queries.NewVersion,
    version_id: int,
    submission_id: int,
    edit_of: queries.ExistingVersion,
    expected: _Expected,
    files: dict[str, int],
    place: _Place,
    classified: Classified | None,
) -> IngestResult:
    current = await queries.lock_submission(conn, submission_id)
    if current != edit_of.id:
        raise Problem.deprecating_old_submission(version.deprecated_id or "")
    # Files not sent again keep the old version's copy, by name (as Central does).
    previous = await queries.version_attachments(conn, edit_of.id)
    attachments = [(n, p, files.get(n, previous.get(n))) for n, p in expected.names]
    await queries.insert_attachments(conn, version_id, attachments)
    await queries.make_current(
        conn,
        submission_id=submission_id,
        old_version_id=edit_of.id,
        new_version=version,
        new_version_id=version_id,
        geopoint=place.geopoint,
        areas=place.areas,
        classified=classified,
    )
    expected_count, present, _ = await queries.refresh_counts(conn, submission_id)
    await record_change(
        conn,
        form_id=version.form_id,
        submission_id=submission_id,
        kind="edited",
        version_id=version_id,
        actor_user_id=version.submitter_user_id,
    )
    return IngestResult("edited", submission_id, version.instance_id, expected_count, present)


async def _add_files(conn: Connection, version: queries.NewVersion, files: dict[str, int]) -> IngestResult:
    existing = await queries.find_version(conn, version.form_id, version.instance_id)
    if existing is None:  # pragma: no cover - the conflicting row cannot vanish inside our transaction
        raise Problem.unavailable("database", retry_after_s=1)
    if existing.deleted:
        raise Problem.submission_deleted()
    if existing.xml_sha256 != version.xml_sha256:
        raise Problem.xml_conflict()
    current = await queries.lock_submission(conn, existing.submission_id)
    changed = await queries.set_attachment_blobs(conn, existing.id, files)
    if current is not None and current != existing.id:
        # Files for a version that was edited since: the edit expects them too where it has none yet.
        await queries.fill_missing_blobs(conn, current, files)
    expected, present, before = await queries.refresh_counts(conn, existing.submission_id)
    if changed or present != before:
        await record_change(
            conn,
            form_id=version.form_id,
            submission_id=existing.submission_id,
            kind="files",
            version_id=current,
            details={"present": present, "expected": expected},
        )
    return IngestResult("duplicate", existing.submission_id, version.instance_id, expected, present)
