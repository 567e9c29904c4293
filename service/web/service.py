"""The review pages' view models: each function takes `Resources` and the caller's `Access` (or Actor), calls the
review, submissions, forms and areas services (which check every verb and apply the reader's scope), and returns
what its template lays out, in the reader's language.

    home           the projects and forms the caller may review
    queue_page     the queue with its filters (review state, legal stage, area, enumerator, dates), counts per state,
                   a page of households (oldest or riskiest first) with their risk badges, bulk forms
    household_page one household: photos (thumbnails), location with the photos' EXIF points, photo evidence,
                   key answers, decision form, legal stages with the step forms, exit plan, next
    summary_page   households per district and commune by review state, and temporary houses confirmed
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from service.areas import service as areas
from service.auth.access import access_to
from service.errors import Problem
from service.forms import reading as form_reading
from service.forms import service as forms
from service.projects import service as projects
from service.review import reading as review_reading
from service.review import service as review
from service.submissions import reading

from .answers import all_answers, answer_diffs, key_answers, photo_fields
from .evidence_views import evidence_view, risk_view
from .labels import form_labels
from .location import location_view
from .models import (
    QUEUE_STATES,
    AreaOption,
    BatchView,
    ChoiceOption,
    CommentView,
    DecisionView,
    FormLink,
    HomeView,
    HouseholdView,
    PhotoView,
    ProjectLink,
    QueueItemView,
    QueueView,
    ReasonView,
    StateCount,
    SummaryRowView,
    SummaryView,
)
from .plan_views import plan_view
from .stage_views import STAGE_NAMES, stages_view
from .urls import form_base, household_url, queue_url

if TYPE_CHECKING:
    from service.areas.models import AreaOut
    from service.auth.access import Access
    from service.auth.models import Actor
    from service.resources import Resources
    from service.review.models import ReasonOut
    from service.submissions.models import AttachmentOut

    from .i18n import Translator
    from .models import Flash, QueueQuery
    from .stage_views import StagesView

__all__ = [
    "PAGE_SIZE",
    "form_base",
    "home",
    "household_page",
    "household_url",
    "queue_page",
    "queue_url",
    "summary_page",
]

PAGE_SIZE = 25
# Photos are shown at this size (CSS scales them to the column), so the page keeps its layout while they load.
PHOTO_WIDTH, PHOTO_HEIGHT = 320, 240


def _form_links(project_id: int, listed: list[tuple[str, str]]) -> list[FormLink]:
    return [
        FormLink(
            xml_form_id=xml_form_id,
            name=name,
            queue_url=queue_url(project_id, xml_form_id),
            summary_url=f"{form_base(project_id, xml_form_id)}/summary",
            progress_url=f"{form_base(project_id, xml_form_id)}/progress",
        )
        for xml_form_id, name in listed
    ]


async def _forms(res: Resources, access: Access) -> list[FormLink]:
    listed = await forms.list_forms(res, access)
    return _form_links(access.project_id, [(f.xml_form_id, f.name or f.xml_form_id) for f in listed])


async def home(res: Resources, actor: Actor) -> HomeView:
    """Every project where the caller may read households, with its forms."""
    found = []
    for project in await projects.list_projects(res, actor):
        if "submission.list" not in project.verbs:
            continue
        access = await access_to(res, actor, project.id)
        found.append(ProjectLink(id=project.id, name=project.name, forms=await _forms(res, access)))
    return HomeView(projects=found)


def _reasons(reasons: list[ReasonOut], t: Translator) -> list[ReasonView]:
    return [ReasonView(code=r.code, label=t.pick(r.label, r.label_en), applies_to=r.applies_to) for r in reasons]


def _area_options(
    access: Access, districts: list[AreaOut], communes: list[AreaOut], t: Translator
) -> tuple[list[AreaOption], list[AreaOption]]:
    """The districts and communes the caller's scope reaches (all of them for a project-wide role)."""
    reach = access.scope("submission.list").areas
    if reach is not None:
        codes = set(reach)
        parent = {c.code: c.parent_code for c in communes}
        communes = [c for c in communes if c.code in codes or c.parent_code in codes]
        wanted = codes | {parent[c.code] for c in communes}
        districts = [d for d in districts if d.code in wanted]
    return (
        [AreaOption(code=d.code, name=t.pick(d.name, d.name_en)) for d in districts],
        [AreaOption(code=c.code, name=t.pick(c.name, c.name_en), parent_code=c.parent_code) for c in communes],
    )


async def queue_page(
    res: Resources,
    access: Access,
    xml_form_id: str,
    query: QueueQuery,
    *,
    cursor: str | None,
    t: Translator,
    flash: Flash,
) -> QueueView:
    filters = query.to_filter(xml_form_id, t.zone)
    page = await review.queue(res, access, filters, cursor=cursor, limit=PAGE_SIZE)
    form_list = await _forms(res, access)
    districts, communes = _area_options(
        access,
        await areas.list_areas(res, access.actor, level="district", parent_code=None),
        await areas.list_areas(res, access.actor, level="commune", parent_code=None),
        t,
    )
    submitters = await review_reading.submitters(res, access, xml_form_id)
    can_review = access.allows("submission.review")
    reasons = _reasons(await review.list_reasons(res, access), t) if can_review else []
    commune_names = {c.code: c.name for c in communes}
    project_id = access.project_id
    total = sum(page.counts.values())
    counts = [
        StateCount(
            state=state,
            households=page.counts.get(state, 0),
            url=queue_url(project_id, xml_form_id, query, state=state),
            current=query.state == state,
        )
        for state in QUEUE_STATES
    ]
    high_from = res.settings.risk_weight_risk
    items = [
        QueueItemView(
            instance_id=item.instance_id,
            title=item.instance_name or item.instance_id,
            state=item.review_state or "received",
            stage=item.stage,
            area=commune_names.get(item.commune_code or "", item.commune_code or ""),
            submitted_at=t.when(item.created_at),
            submitter=item.submitter_name or "",
            photos_present=item.attachments_present,
            photos_expected=item.attachments_expected,
            url=household_url(project_id, xml_form_id, item.instance_id, query),
            risk=risk_view(item.risk_score, item.checks.warn, item.checks.risk, high_from=high_from),
        )
        for item in page.items
    ]
    more = f"{queue_url(project_id, xml_form_id, query)}" if page.next_cursor else None
    if more is not None:
        more += ("&" if "?" in more else "?") + urlencode({"cursor": page.next_cursor})
    form_name = next((f.name for f in form_list if f.xml_form_id == xml_form_id), xml_form_id)
    return QueueView(
        project_id=project_id,
        xml_form_id=xml_form_id,
        form_name=form_name,
        forms=form_list,
        query=query,
        base_url=queue_url(project_id, xml_form_id),
        all_url=queue_url(project_id, xml_form_id, query, state=None),
        counts=counts,
        total=total,
        matching=page.counts.get(query.state, 0) if query.state else total,
        items=items,
        more_url=more,
        districts=districts,
        communes=communes,
        submitters=[AreaOption(code=str(s.id), name=s.name) for s in submitters],
        reasons=reasons,
        can_review=can_review,
        bulk_url=f"{form_base(project_id, xml_form_id)}/bulk{query.query()}",
        summary_url=f"{form_base(project_id, xml_form_id)}/summary",
        max_bulk=review.MAX_BULK,
        batch=_batch(project_id, xml_form_id, query, flash),
        notice=await _queue_notice(res, access, xml_form_id, flash, t),
        stages=[ChoiceOption(value=stage, checked=stage in query.stage) for stage in STAGE_NAMES],
        sort=query.sort or "oldest",
        oldest_url=queue_url(project_id, xml_form_id, query, sort=None),
        risk_url=queue_url(project_id, xml_form_id, query, sort="risk"),
        stage_bulk_url=(
            f"{form_base(project_id, xml_form_id)}/stage-bulk{query.query()}"
            if access.allows("submission.stage")
            else None
        ),
        today=res.settings.local_today().isoformat(),
    )


def _batch(project_id: int, xml_form_id: str, query: QueueQuery, flash: Flash) -> BatchView | None:
    if not flash.batch or flash.changed is None or flash.to not in QUEUE_STATES:
        return None
    try:
        batch_id = str(uuid.UUID(flash.batch))
    except ValueError:
        return None
    return BatchView(
        batch_id=batch_id,
        state=flash.to,
        changed=flash.changed,
        undo_url=f"{form_base(project_id, xml_form_id)}/batches/{batch_id}/undo{query.query()}",
    )


async def _decided(res: Resources, access: Access, xml_form_id: str, flash: Flash, t: Translator) -> str | None:
    """ "Recorded <state> for <household>": the household as it is now (nothing if it is not the reader's to see)."""
    if not flash.decided:
        return None
    try:
        decided = await reading.get_submission(res, access, xml_form_id, flash.decided)
    except Problem as missing:
        if missing.status != 404:
            raise
        return None
    state = decided.review_state or "received"
    return t("household.decided", state=t(f"state.{state}"), title=decided.instance_name or decided.instance_id)


async def _queue_notice(res: Resources, access: Access, xml_form_id: str, flash: Flash, t: Translator) -> str | None:
    if flash.restored is not None and flash.kept is not None:
        return t("bulk.undone", restored=flash.restored, kept=flash.kept)
    if flash.notice == "none_selected":
        return t("bulk.none_selected")
    if flash.staged is not None:
        return t("stage.bulk_done", n=t.number(flash.staged))
    return await _decided(res, access, xml_form_id, flash, t)


def _photos(
    project_id: int, xml_form_id: str, instance_id: str, files: list[AttachmentOut], label_of: dict[str, str]
) -> list[PhotoView]:
    """The household's images in the form's order (files it names in its answers), each labelled by its question."""
    base = household_url(project_id, xml_form_id, instance_id)
    shown = [f for f in files if f.exists and (f.content_type or "").startswith("image/")]
    order = list(label_of)
    shown.sort(key=lambda f: (order.index(f.name) if f.name in order else len(order), f.name))
    return [
        PhotoView(
            name=f.name,
            label=label_of.get(f.name, f.name),
            url=f"{base}/photos/{quote(f.name, safe='')}",
            width=PHOTO_WIDTH,
            height=PHOTO_HEIGHT,
        )
        for f in shown
    ]


async def household_page(
    res: Resources,
    access: Access,
    xml_form_id: str,
    instance_id: str,
    query: QueueQuery,
    *,
    t: Translator,
    flash: Flash,
) -> HouseholdView:
    submission = await reading.get_submission(res, access, xml_form_id, instance_id, extended=True)
    files = await reading.submission_attachments(res, access, xml_form_id, instance_id)
    detail = await review_reading.household_answers(res, access, xml_form_id, instance_id)
    xml, md5 = await form_reading.read_form_xml(res, access, xml_form_id)
    labels = await form_labels(xml, md5)
    answers = detail.answers or {}
    named = photo_fields(answers, labels, {f.name for f in files})
    label_of = {name: labels.field(a.path, t.lang) or a.name for name, a in named.items()}
    project_id = access.project_id
    page_url = household_url(project_id, xml_form_id, instance_id)
    photos = _photos(project_id, xml_form_id, instance_id, files, label_of)
    evidence, photos = await evidence_view(res, access, xml_form_id, instance_id, photos, household_url=page_url, t=t)
    point = submission.geopoint
    photo_points = [(p.exif[0], p.exif[1], p.label) for p in photos if p.exif is not None]
    location = (
        location_view(point.latitude, point.longitude, point.accuracy, photo_points) if point is not None else None
    )
    asked, calculated = all_answers(answers, labels, t, skip=set(named))
    comments = await review.list_comments(res, access, xml_form_id, instance_id)
    changes = []
    if submission.current_version.instance_id != submission.instance_id:
        versions = await review.diffs(res, access, xml_form_id, instance_id)
        latest = versions.get(submission.current_version.instance_id, [])
        changes = [(d.path, d.old, d.new) for d in latest]
    decision = None
    if access.allows("submission.review"):
        decision = DecisionView(
            url=f"{household_url(project_id, xml_form_id, instance_id)}/decision{query.query()}",
            reasons=_reasons(await review.list_reasons(res, access), t),
        )
    following = await review_reading.next_in_queue(res, access, query.to_filter(xml_form_id, t.zone), instance_id)
    area = ", ".join(
        name
        for name in (
            t.pick(detail.village_name, detail.village_name_en),
            t.pick(detail.commune_name, detail.commune_name_en) or (submission.areas.commune or ""),
            t.pick(detail.district_name, detail.district_name_en) or (submission.areas.district or ""),
        )
        if name
    )
    submitter = submission.submitter.display_name if submission.submitter else ""
    stages = await stages_view(res, access, xml_form_id, instance_id, form_url=f"{page_url}/stages{query.query()}", t=t)
    return HouseholdView(
        project_id=project_id,
        xml_form_id=xml_form_id,
        form_name=labels.title or xml_form_id,
        instance_id=instance_id,
        title=submission.instance_name or instance_id,
        state=submission.review_state or "received",
        submitted_at=t.when(submission.created_at),
        updated_at=t.when(submission.updated_at) if submission.updated_at else None,
        reviewed_at=t.when(submission.reviewed_at) if submission.reviewed_at else None,
        submitter=submitter,
        area=area,
        photos=photos,
        photos_missing=sum(1 for f in files if not f.exists),
        location=location,
        evidence=evidence,
        key_answers=key_answers(answers, labels, t),
        answers=asked,
        calculated=calculated,
        diffs=answer_diffs(changes, labels, t),
        comments=[CommentView(author=c.actor_name, at=t.when(c.created_at), body=c.body) for c in comments],
        comment_url=f"{household_url(project_id, xml_form_id, instance_id)}/comments{query.query()}",
        decision=decision,
        queue_url=queue_url(project_id, xml_form_id, query),
        next_url=household_url(project_id, xml_form_id, following, query) if following else None,
        notice=await _household_notice(res, access, xml_form_id, flash, stages, t),
        stages=stages,
        plan=await plan_view(res, access, xml_form_id, instance_id, t),
        classification=submission.classification,
        classification_mismatch=bool(submission.classification_mismatch),
    )


async def _household_notice(
    res: Resources, access: Access, xml_form_id: str, flash: Flash, stages: StagesView, t: Translator
) -> str | None:
    if flash.commented:
        return t("household.comment_added")
    if flash.stepped:
        # The stage as it is now (read back, as a decision is): a link cannot make the page claim a step.
        return t("stage.recorded", stage=t(f"stage.{stages.stage}"))
    return await _decided(res, access, xml_form_id, flash, t)


async def summary_page(res: Resources, access: Access, xml_form_id: str, *, t: Translator) -> SummaryView:
    rows = await review_reading.area_summary(res, access, xml_form_id)
    form_list = await _forms(res, access)
    project_id = access.project_id
    shown = []
    for row in rows:
        if row.level == "total":
            name, code = t("summary.total"), None
        elif row.level == "district":
            code = row.district_code
            name = t.pick(row.district_name, row.district_name_en) or code or t("summary.unknown_area")
        else:
            code = row.commune_code
            name = t.pick(row.commune_name, row.commune_name_en) or code or t("summary.unknown_area")
        area_query = (
            {"district": row.district_code, "commune": code}
            if row.level == "commune"
            else {"district": code}
            if code
            else {}
        )
        shown.append(
            SummaryRowView(
                level=row.level,
                name=name,
                code=code,
                received=row.received,
                approved=row.approved,
                rejected=row.rejected,
                flagged=row.flagged,
                open=row.open,
                temp_houses=row.temp_houses,
                queue_url=queue_url(project_id, xml_form_id) + (f"?{urlencode(area_query)}" if area_query else ""),
            )
        )
    form_name = next((f.name for f in form_list if f.xml_form_id == xml_form_id), xml_form_id)
    return SummaryView(
        project_id=project_id,
        xml_form_id=xml_form_id,
        form_name=form_name,
        forms=form_list,
        rows=shown,
        queue_url=queue_url(project_id, xml_form_id),
    )
