"""Review's read side for people reviewing in a browser: the area summary, the enumerators whose households the reader
may see, one household's answers, and the next household in the queue.

    area_summary     → submission.list; per district and commune (and in all): households received, approved,
                       rejected, flagged, still open, and the temporary houses confirmed (approved households
                       whose answers say TEMP_HOUSE_FIELD = 'yes'); counted in SQL within the reader's scope
    submitters       → submission.list; who sent the households the reader may see (for the queue's filter)
    household_answers→ submission.read; the current version's answers and the names of its areas (404 outside
                       the scope, as every read)
    next_in_queue    → submission.list; the household after this one in the queue's order (oldest or riskiest
                       first) under the same filter
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.errors import Problem
from service.forms.access import authorized_form

from . import queries, reading_queries
from .service import _answers_filter, _check_queue

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.resources import Resources

    from .models import QueueFilter
    from .reading_queries import AreaSummaryRow, HouseholdAnswersRow, SubmitterOption

__all__ = ["TEMP_HOUSE_FIELD", "area_summary", "household_answers", "next_in_queue", "submitters"]

# The answer that marks a temporary house (looked for by name anywhere in the answers).
TEMP_HOUSE_FIELD = reading_queries.TEMP_HOUSE_FIELD


async def area_summary(res: Resources, access: Access, xml_form_id: str) -> list[AreaSummaryRow]:
    scope = access.scope("submission.list")
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "submission.list")
        return await reading_queries.area_summary(conn, scope, form.id)


async def submitters(res: Resources, access: Access, xml_form_id: str) -> list[SubmitterOption]:
    scope = access.scope("submission.list")
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "submission.list")
        return await reading_queries.submitters(conn, scope, form.id)


async def household_answers(res: Resources, access: Access, xml_form_id: str, instance_id: str) -> HouseholdAnswersRow:
    scope = access.scope("submission.read")
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "submission.read")
        found = await reading_queries.household_answers(conn, scope, form.id, instance_id)
    if found is None:
        raise Problem.not_found("submission")
    return found


async def next_in_queue(res: Resources, access: Access, filters: QueueFilter, instance_id: str) -> str | None:
    """The instanceID of the household after `instance_id` in the queue (in the filter's order) under `filters`, or
    None at the end. The household itself need not match the filter any more (it was just decided on)."""
    _check_queue(filters)
    scope = access.scope("submission.list")
    answers = _answers_filter(filters)
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, filters.xml_form_id, "submission.list")
        here = await reading_queries.queue_position(conn, scope, form.id, instance_id)
        if here is None:
            raise Problem.not_found("submission")
        if filters.sort == "risk":
            rows = await queries.queue_page_by_risk(
                conn, scope, form.id, filters, answers, after=(here.risk_score, here.id), limit=1
            )
        else:
            rows = await queries.queue_page(
                conn, scope, form.id, filters, answers, after=(here.created_at, here.id), limit=1
            )
    return rows[0].instance_id if rows else None
