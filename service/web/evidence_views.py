"""The household page's photo evidence, read through the evidence capability (service/evidence/reading.py), which
checks the reader's verb and areas: each photo's thumbnails, EXIF point and checks; the household's risk score and
own checks; the other households sharing a photo that the reader may see.

Thumbnails are served by the review site itself (routes.py `thumbnail`), never by the /v1 URLs the evidence API
gives: the page's Content-Security-Policy allows images from this origin only, and the API wants an Authorization
header the browser does not send.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import msgspec

from service.errors import Problem
from service.evidence import reading as evidence
from service.submissions import reading

from .models import CheckView, EvidenceView, HouseholdLink, RiskView
from .urls import household_url as household_url_of

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.evidence.models import CheckOut, EvidenceOut, PhotoOut
    from service.resources import Resources

    from .i18n import Translator
    from .models import PhotoView

__all__ = ["evidence_view", "risk_view"]

_SEVERITY_ORDER = {"risk": 0, "warn": 1, "info": 2}
_SEVERITY_LABELS = {"risk": "severity.risk", "warn": "severity.warn", "info": "severity.info"}


def risk_view(score: int | None, warn: int, risk: int, *, high_from: int) -> RiskView | None:
    """The badge of a risk score: `high` from `high_from` (one risk-level check's weight, RISK_WEIGHT_RISK), `medium`
    above 0, `low` at 0. None until the household was first checked."""
    if score is None:
        return None
    level = "high" if score >= high_from else "medium" if score > 0 else "low"
    return RiskView(score=score, level=level, warn=warn, risk=risk)


def thumbnail_url(household_url: str, name: str, size: str) -> str:
    return f"{household_url}/photos/{quote(name, safe='')}/thumbnails/{size}"


async def _links(res: Resources, access: Access, checks: list[CheckOut]) -> dict[tuple[str, str], HouseholdLink]:
    """The other households the checks name (only those in the reader's areas are named at all), with their titles.
    One that went away since the checks ran (deleted) is left out."""
    links: dict[tuple[str, str], HouseholdLink] = {}
    for check in checks:
        other = check.other_household
        if other is None or (other.xml_form_id, other.instance_id) in links:
            continue
        try:
            found = await reading.get_submission(res, access, other.xml_form_id, other.instance_id)
        except Problem as gone:
            if gone.status != 404:
                raise
            continue
        links[(other.xml_form_id, other.instance_id)] = HouseholdLink(
            title=found.instance_name or found.instance_id,
            url=household_url_of(access.project_id, other.xml_form_id, other.instance_id),
        )
    return links


def _check(check: CheckOut, links: dict[tuple[str, str], HouseholdLink], t: Translator) -> CheckView:
    other = check.other_household
    link = links.get((other.xml_form_id, other.instance_id)) if other is not None else None
    return CheckView(
        code=check.code,
        label=t.pick(check.reason.vi, check.reason.en),
        severity=check.severity,
        severity_label=t(_SEVERITY_LABELS[check.severity]),
        other=link,
        # Named by the evidence API but gone since, or outside the reader's areas: say only that there is one.
        other_hidden=check.other_hidden or (other is not None and link is None),
    )


def _with_evidence(photo: PhotoView, found: PhotoOut | None, checks: list[CheckView], household_url: str) -> PhotoView:
    if found is None:
        return photo
    small = large = None
    if found.thumbnails is not None:
        small = thumbnail_url(household_url, photo.name, "small")
        large = thumbnail_url(household_url, photo.name, "large")
    gps = found.exif.gps if found.exif is not None else None
    return msgspec.structs.replace(
        photo,
        thumbnail_url=small,
        large_url=large or photo.url,
        exif=(gps.latitude, gps.longitude) if gps is not None else None,
        checks=checks,
    )


async def evidence_view(
    res: Resources,
    access: Access,
    xml_form_id: str,
    instance_id: str,
    photos: list[PhotoView],
    *,
    household_url: str,
    t: Translator,
) -> tuple[EvidenceView, list[PhotoView]]:
    """The household's evidence, and its photos with their thumbnails, EXIF points and checks filled in.
    `household_url`: the household's page (without the queue's filter), under which its photos are served."""
    found: EvidenceOut = await evidence.household_evidence(res, access, xml_form_id, instance_id, base_url="")
    links = await _links(res, access, found.checks)
    ordered = sorted(found.checks, key=lambda c: _SEVERITY_ORDER.get(c.severity, 3))
    shown = {photo.name for photo in photos}
    by_photo: dict[str, list[CheckView]] = {}
    own: list[CheckView] = []
    for check in ordered:
        shown_check = _check(check, links, t)
        # A check of a photo the grid does not show (not received yet, not an image) stays with the household.
        if check.photo is not None and check.photo in shown:
            by_photo.setdefault(check.photo, []).append(shown_check)
        else:
            own.append(shown_check)
    photo_out = {p.name: p for p in found.photos}
    filled = [
        _with_evidence(photo, photo_out.get(photo.name), by_photo.get(photo.name, []), household_url)
        for photo in photos
    ]
    view = EvidenceView(
        pending=found.status == "pending",
        risk=risk_view(found.risk_score, found.counts.warn, found.counts.risk, high_from=res.settings.risk_weight_risk),
        checks=own,
        info=found.counts.info,
        warn=found.counts.warn,
        risk_checks=found.counts.risk,
        checked_at=t.when(found.checked_at) if found.checked_at else None,
        shared_with=list(links.values()),
    )
    return view, filled
