"""HTTP routes of review: Central's PATCH …/submissions/{instanceId} (review state), comments and diffs on the
submissions router, and the review queue with bulk actions and their undo."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Router, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from service.http import AccessDep, ResourcesDep
from service.submissions.models import SubmissionOut

from . import service
from .models import (
    BulkIn,
    BulkOut,
    CommentIn,
    CommentOut,
    DiffOut,
    QueueFilter,
    QueueOut,
    ReasonOut,
    ReviewIn,
    UndoOut,
)

__all__ = ["on_submission", "reasons_router", "review_router"]


@patch("/{instance:str}")
async def review_submission(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
    data: JSONBody[ReviewIn],
) -> SubmissionOut:
    row = await service.decide(
        resources, access, xml_form_id, instance, state=data.review_state, reason=data.reason, note=data.note
    )
    return SubmissionOut.of(row)


@get("/{instance:str}/comments")
async def list_comments(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], instance: FromPath[str]
) -> list[CommentOut]:
    return await service.list_comments(resources, access, xml_form_id, instance)


@post("/{instance:str}/comments", status_code=200)
async def add_comment(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
    data: JSONBody[CommentIn],
) -> CommentOut:
    return await service.add_comment(resources, access, xml_form_id, instance, data.body)


@get("/{instance:str}/diffs")
async def diffs(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], instance: FromPath[str]
) -> dict[str, list[DiffOut]]:
    return await service.diffs(resources, access, xml_form_id, instance)


# Registered on the submissions router (the same paths as its GETs): service/submissions/routes.py.
on_submission = [review_submission, list_comments, add_comment, diffs]

States = Annotated[list[str] | None, QueryParameter(name="state", required=False)]
Stages = Annotated[list[str] | None, QueryParameter(name="stage", required=False)]
Sort = Annotated[str, QueryParameter(name="sort", max_length=20)]
Area = Annotated[str | None, QueryParameter(name="area", required=False, max_length=40)]
Submitter = Annotated[int | None, QueryParameter(name="submitter", required=False, ge=1, le=2**63 - 1)]
Since = Annotated[datetime | None, QueryParameter(name="since", required=False)]
Until = Annotated[datetime | None, QueryParameter(name="until", required=False)]
Answers = Annotated[list[str] | None, QueryParameter(name="answer", required=False)]
ClassificationQuery = Annotated[str | None, QueryParameter(name="classification", required=False, max_length=40)]
Mismatch = Annotated[bool | None, QueryParameter(name="mismatch", required=False)]
Cursor = Annotated[str | None, QueryParameter(name="cursor", required=False, max_length=200)]
Limit = Annotated[int, QueryParameter(name="limit", ge=1, le=service.MAX_QUEUE_PAGE)]


def _answers(pairs: list[str] | None) -> dict[str, str]:
    """`answer=/data/g_loc/commune=19750` (repeatable) → {path: value}."""
    found = {}
    for pair in pairs or []:
        path, sep, value = pair.partition("=")
        if sep:
            found[path] = value
    return found


@get("/queue")
async def queue(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    states: States = None,
    stages: Stages = None,
    area: Area = None,
    submitter: Submitter = None,
    since: Since = None,
    until: Until = None,
    answer: Answers = None,
    classification: ClassificationQuery = None,
    mismatch: Mismatch = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: Sort = "oldest",
) -> QueueOut:
    """Households to review, oldest first (`sort=risk`: riskiest first, unchecked last), with counts per state;
    the filters combine (AND), and `state` and `stage` may repeat. `classification=poor` is the server's
    classification; `mismatch=true` the households whose phone computed another one."""
    filters = QueueFilter(
        xml_form_id=xml_form_id,
        states=states,
        stages=stages,
        sort=sort,
        area=area,
        submitter_id=submitter,
        since=since,
        until=until,
        answers=_answers(answer),
        classification=classification,
        mismatch=mismatch,
    )
    return await service.queue(resources, access, filters, cursor=cursor, limit=limit)


@post("/bulk", status_code=200)
async def bulk(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], data: JSONBody[BulkIn]
) -> BulkOut:
    """One decision for many households (listed, or selected by the queue's filters), undoable as a batch."""
    filters = QueueFilter(
        xml_form_id=xml_form_id,
        states=data.state,
        stages=data.stage,
        sort=data.sort,
        area=data.area,
        submitter_id=data.submitter_id,
        since=data.since,
        until=data.until,
        classification=data.classification,
        mismatch=data.mismatch,
    )
    batch, changed = await service.bulk_decide(
        resources,
        access,
        filters,
        instance_ids=data.instance_ids,
        state=data.review_state,
        reason=data.reason,
        note=data.note,
        limit=data.limit,
    )
    return BulkOut(batch_id=str(batch), changed=changed)


review_router = Router(
    path="/projects/{project_id:int}/forms/{xml_form_id:str}/review",
    route_handlers=[queue, bulk],
    tags=["review"],
)


@post("/review-batches/{batch_id:str}/undo", status_code=200)
async def undo(resources: ResourcesDep, access: AccessDep, batch_id: FromPath[str]) -> UndoOut:
    restored, kept = await service.undo_batch(resources, access, batch_id)
    return UndoOut(restored=restored, kept=kept)


@get("/review-reasons")
async def reasons(resources: ResourcesDep, access: AccessDep) -> list[ReasonOut]:
    return await service.list_reasons(resources, access)


reasons_router = Router(path="/projects/{project_id:int}", route_handlers=[undo, reasons], tags=["review"])
