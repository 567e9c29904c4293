"""Submissions written over the REST API (as pyODK and Central's own API do), through the same ingest as Collect:

    POST …/forms/{f}/submissions (XML)             → a new household; 409.3 if its instanceID exists; 400.8 if
                                                     the XML is another form's
    PUT  …/submissions/{instanceId} (XML)           → an edit: the XML's deprecatedID must name that household's
                                                     current version (400.19 without one, 409.9 when stale)
    POST …/submissions/{instanceId}/attachments/{n} → a file the current version expects, added or replaced,
                                                     exactly as a Collect resend of the same XML would

Creating needs submission.create (what Collect needs); editing and attaching need submission.update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.auth.access import Scope
from service.errors import Problem
from service.forms.access import authorized_form

from . import queries
from .service import ingest_submission
from .xml import SubmissionXmlError, parse_submission

if TYPE_CHECKING:
    from collections.abc import AsyncIterable

    from service.auth.access import Access
    from service.resources import Resources

    from .queries import SubmissionRow

__all__ = ["attach_file", "create_from_xml", "edit_from_xml"]


def _facts_form_id(xml: bytes) -> tuple[str, str | None, str]:
    try:
        facts = parse_submission(xml)
    except SubmissionXmlError as exc:
        raise Problem.bad_submission_xml(str(exc)) from None
    return facts.form_id, facts.deprecated_id, facts.instance_id


async def _shown(res: Resources, access: Access, xml_form_id: str, instance_id: str) -> SubmissionRow:
    """The household as it is now, shown to the caller who just wrote it (whatever its read scope)."""
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "submission.create")
        row = await queries.get_submission(conn, Scope.whole(access.project_id), form.id, instance_id)
    if row is None:  # pragma: no cover - it was committed a moment ago
        raise Problem.not_found("submission")
    return row


async def create_from_xml(
    res: Resources, access: Access, xml_form_id: str, xml: bytes, *, device_id: str | None, user_agent: str | None
) -> SubmissionRow:
    from service.openrosa.multipart import ReceivedSubmission

    form_id, _, instance_id = _facts_form_id(xml)
    if form_id != xml_form_id:
        raise Problem.unexpected_value("xmlFormId", f"the submission is for the form {form_id!r}, not {xml_form_id!r}")
    result = await ingest_submission(
        res, access, ReceivedSubmission(xml=xml, files={}), device_id=device_id, user_agent=user_agent
    )
    if result.outcome == "duplicate":
        raise Problem.already_exists("instanceId", instance_id)
    return await _shown(res, access, xml_form_id, result.instance_id if result.outcome == "created" else instance_id)


async def edit_from_xml(
    res: Resources,
    access: Access,
    xml_form_id: str,
    instance_id: str,
    xml: bytes,
    *,
    device_id: str | None,
    user_agent: str | None,
) -> SubmissionRow:
    from service.openrosa.multipart import ReceivedSubmission

    access.require("submission.update")
    form_id, deprecated_id, _ = _facts_form_id(xml)
    if form_id != xml_form_id:
        raise Problem.unexpected_value("xmlFormId", f"the submission is for the form {form_id!r}, not {xml_form_id!r}")
    if deprecated_id is None:
        raise Problem.expected_deprecation()
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "submission.update")
        household = await queries.get_submission(conn, access.scope("submission.update"), form.id, instance_id)
    if household is None:
        raise Problem.not_found("submission")
    if deprecated_id != household.current_instance_id:
        raise Problem.deprecating_old_submission(deprecated_id)
    result = await ingest_submission(
        res, access, ReceivedSubmission(xml=xml, files={}), device_id=device_id, user_agent=user_agent
    )
    if result.outcome != "edited":
        raise Problem.deprecating_old_submission(deprecated_id)
    return await _shown(res, access, xml_form_id, instance_id)


async def attach_file(
    res: Resources,
    access: Access,
    xml_form_id: str,
    instance_id: str,
    name: str,
    chunks: AsyncIterable[bytes],
) -> None:
    from service.openrosa.multipart import ReceivedFile, ReceivedSubmission

    access.require("submission.update")
    scope = access.scope("submission.update")
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "submission.update")
        household = await queries.get_submission(conn, scope, form.id, instance_id)
        if household is None:
            raise Problem.not_found("submission")
        expected = {a.name for a in await queries.attachment_rows(conn, scope, household.id)}
        xml = await queries.current_xml(conn, scope, household.id)
    if name not in expected or xml is None:
        raise Problem.not_found("submission attachment")
    spool = res.store.spool(limit=res.settings.max_submission_bytes)
    try:
        async for chunk in chunks:
            spool.write(chunk)
        file = ReceivedFile(name=name, declared_type=None, spool=spool, info=spool.finish())
    except BaseException:
        spool.discard()
        raise
    # The current version's own XML with this one file: ingest treats it as Collect's resend (attachment upsert).
    received = ReceivedSubmission(xml=xml.encode("utf-8"), files={name: file})
    await ingest_submission(res, access, received, device_id=household.current_device_id, user_agent=None)
