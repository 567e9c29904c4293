"""Households on a real database without HTTP: the test form published, submissions ingested as a phone sends them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.forms import service as forms
from service.submissions.service import ingest_submission
from tests.support.submission import new_instance_id, received, submission_xml
from tests.support.xlsform import SIMPLE_SURVEY, XLSX, xlsx

if TYPE_CHECKING:
    from collections.abc import Sequence

    from service.auth.access import Access
    from service.resources import Resources
    from service.submissions.service import IngestResult

__all__ = ["ingest", "publish_household_form"]


async def publish_household_form(resources: Resources, access: Access, *, form_id: str = "household") -> None:
    """SIMPLE_SURVEY (tests/support/xlsform.py), published as version 1."""
    await forms.create_form(
        resources,
        access,
        xlsx(SIMPLE_SURVEY, form_id=form_id, version="1"),
        content_type=XLSX,
        fallback_form_id=None,
        publish=True,
        ignore_warnings=True,
    )


async def ingest(
    resources: Resources,
    access: Access,
    xml: bytes | None = None,
    files: Sequence[tuple[str, bytes]] = (),
    *,
    device_id: str | None = "collect:x",
) -> IngestResult:
    """One household through the ingest service, as the multipart reader hands it over (new instanceID by default)."""
    xml = xml if xml is not None else submission_xml(instance_id=new_instance_id(), photos=(None, None))
    return await ingest_submission(
        resources, access, received(resources.store, xml, files), device_id=device_id, user_agent="test"
    )
