"""The review site's addresses, built in one place (pages link to each other with the queue's filter kept)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from .models import QueueQuery

__all__ = ["form_base", "household_url", "queue_url"]


def form_base(project_id: int, xml_form_id: str) -> str:
    return f"/review/projects/{project_id}/forms/{quote(xml_form_id, safe='')}"


def queue_url(project_id: int, xml_form_id: str, query: QueueQuery | None = None, **changes: object) -> str:
    return f"{form_base(project_id, xml_form_id)}/queue{query.query(**changes) if query else ''}"


def household_url(project_id: int, xml_form_id: str, instance_id: str, query: QueueQuery | None = None) -> str:
    suffix = query.query() if query else ""
    return f"{form_base(project_id, xml_form_id)}/households/{quote(instance_id, safe='')}{suffix}"
