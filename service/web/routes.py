"""HTTP routes of the review site (/review/…): decode, call one service function, render its page or redirect.

The caller is the user of the session cookie (session.py), never an Authorization header, and only here: the /v1
API does not read the cookie. Every form POST carries the session's CSRF token (checked in actions.py). Failures
become pages through rendering.web_error.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter, SkipValidation
from litestar.response import Redirect, Stream, Template

from service.auth.models import Actor  # noqa: TC001 - Litestar reads provider signatures at start-up
from service.downloads import content_disposition
from service.errors import Problem
from service.evidence import reading as evidence_reading
from service.http import AccessDep, ResourcesDep, client_address, is_https
from service.media.sniff import IMAGE_TYPES
from service.submissions import reading

from . import actions, service
from . import progress as progress_views
from .i18n import Translator
from .models import Flash, QueueQuery
from .rendering import (
    LANG_COOKIE,
    SIGN_IN_PATH,
    assets,
    page,
    safe_next,
    sign_in_page,
    translator,
    web_error,
)
from .session import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    WebSession,
    cookie_name,
    session_from_cookie,
)

__all__ = ["root_router", "router"]

_Text = Annotated[str | None, QueryParameter(required=False, max_length=40)]
_Cursor = Annotated[str | None, QueryParameter(required=False, max_length=200)]
_Count = Annotated[int | None, QueryParameter(required=False, ge=0, le=10**9)]
_State = Annotated[str | None, QueryParameter(name="state", required=False, max_length=40)]
_Instance = Annotated[str | None, QueryParameter(required=False, max_length=255)]
_Stages = Annotated[list[str] | None, QueryParameter(name="stage", required=False)]


async def _web_session(request: Request[Any, Any, Any], resources: ResourcesDep) -> WebSession:
    name = cookie_name(SESSION_COOKIE, secure=is_https(request))
    return await session_from_cookie(resources, request.cookies.get(name))


def _actor(web_session: SkipValidation[WebSession]) -> Actor:
    return web_session.actor


def _translator(request: Request[Any, Any, Any]) -> Translator:
    return translator(request)


def _day(name: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Problem.unexpected_value(name, "a date is written YYYY-MM-DD") from None


def _queue_query(
    review_state: _State = None,
    stages: _Stages = None,
    district: _Text = None,
    commune: _Text = None,
    since: _Text = None,
    until: _Text = None,
    submitter: _Text = None,
    sort: _Text = None,
) -> QueueQuery:
    """The queue's filter from the URL (the filter form sends empty fields for "any")."""
    try:
        submitter_id = int(submitter) if submitter else None
    except ValueError:
        raise Problem.unexpected_value("submitter", "it is an actor id") from None
    if submitter_id is not None and not 1 <= submitter_id <= 2**63 - 1:
        raise Problem.unexpected_value("submitter", "it is an actor id")
    return QueueQuery(
        state=review_state or None,
        # The review service refuses a stage it does not know (400); the oldest-first order is the default.
        stage=tuple(dict.fromkeys(s for s in stages or () if s)),
        sort="risk" if sort == "risk" else None,
        district=district or None,
        commune=commune or None,
        since=_day("since", since),
        until=_day("until", until),
        submitter=submitter_id,
    )


def _flash(
    decided: _Instance = None,
    commented: _Text = None,
    batch: _Text = None,
    changed: _Count = None,
    to: _Text = None,
    restored: _Count = None,
    kept: _Count = None,
    notice: _Text = None,
    stepped: _Text = None,
    staged: _Count = None,
) -> Flash:
    return Flash(
        stepped=bool(stepped),
        staged=staged,
        decided=decided,
        commented=bool(commented),
        batch=batch,
        changed=changed,
        to=to,
        restored=restored,
        kept=kept,
        notice=notice,
    )


# How handlers ask for them (named dependencies of this router, not validated).
SessionDep = NamedDependency[SkipValidation[WebSession]]
TranslatorDep = NamedDependency[SkipValidation[Translator]]
QueryDep = NamedDependency[SkipValidation[QueueQuery]]
FlashDep = NamedDependency[SkipValidation[Flash]]


def _see_other(location: str, cookies: list[Cookie] | None = None) -> Redirect:
    return Redirect(location, status_code=303, headers={"Cache-Control": "no-store"}, cookies=cookies or [])


async def _form(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """A url-encoded form as {name: value}, and {name: [values]} for the names it repeats (checkboxes)."""
    data = await request.form()
    return {key: (values if len(values := data.getall(key)) > 1 else values[0]) for key in data}


def _text(form: dict[str, Any], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


@get("/")
async def home(
    request: Request[Any, Any, Any], resources: ResourcesDep, web_session: SessionDep, translator: TranslatorDep
) -> Template:
    view = await service.home(resources, web_session.actor)
    return page(request, "home.html", t=translator, session=web_session, view=view)


@get("/sign-in")
async def sign_in_form(
    request: Request[Any, Any, Any], web_session: SessionDep, translator: TranslatorDep, signed_out: _Text = None
) -> Template | Redirect:
    if web_session.signed_in:
        return _see_other(safe_next(request.query_params.get("next")))
    notice = translator("signin.signed_out") if signed_out else None
    if request.query_params.get("next") and not signed_out:
        notice = translator("signin.needed")
    return sign_in_page(request, translator, secure=is_https(request), notice=notice)


@post("/sign-in", status_code=303)
async def sign_in(request: Request[Any, Any, Any], resources: ResourcesDep) -> Redirect:
    form = await _form(request)
    secure = is_https(request)
    token_cookie = cookie_name(SIGN_IN_COOKIE, secure=secure)
    value = await actions.sign_in(
        resources,
        email=_text(form, "email") or "",
        password=_text(form, "password") or "",
        token=_text(form, "token"),
        cookie_token=request.cookies.get(token_cookie),
        client=client_address(request),
    )
    cookies = [
        Cookie(
            key=cookie_name(SESSION_COOKIE, secure=secure),
            value=value,
            path="/",
            secure=secure,
            httponly=True,
            samesite="lax",
            max_age=resources.settings.session_ttl_s,
        ),
        Cookie(key=token_cookie, value="", path="/", secure=secure, httponly=True, samesite="lax", max_age=0),
    ]
    return _see_other(safe_next(_text(form, "next")), cookies)


@post("/sign-out", status_code=303)
async def sign_out(request: Request[Any, Any, Any], resources: ResourcesDep, web_session: SessionDep) -> Redirect:
    form = await _form(request)
    await actions.sign_out(resources, web_session, _text(form, "csrf"))
    secure = is_https(request)
    gone = Cookie(
        key=cookie_name(SESSION_COOKIE, secure=secure),
        value="",
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
        max_age=0,
    )
    return _see_other(f"{SIGN_IN_PATH}?signed_out=1", [gone])


@get("/language")
async def language(request: Request[Any, Any, Any], to: _Text = None) -> Redirect:
    """The language switch: remembered in a cookie for a year, then back to the page it was clicked on."""
    chosen: Literal["vi", "en"] = "en" if to == "en" else "vi"
    cookie = Cookie(key=LANG_COOKIE, value=chosen, path="/", samesite="lax", max_age=365 * 24 * 3600, httponly=True)
    return _see_other(safe_next(request.query_params.get("next")), [cookie])


@get("/static/{name:str}")
async def static_file(name: FromPath[str]) -> Response[bytes]:
    found = assets().files.get(name)
    if found is None:
        raise Problem.not_found("file")
    return Response(
        content=found.content,
        media_type=found.media_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "ETag": found.etag,
            "X-Content-Type-Options": "nosniff",
        },
    )


_FORM = "/projects/{project_id:int}/forms/{xml_form_id:str}"


@get(f"{_FORM}/queue")
async def queue(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    web_session: SessionDep,
    translator: TranslatorDep,
    queue_query: QueryDep,
    flash: FlashDep,
    xml_form_id: FromPath[str],
    cursor: _Cursor = None,
) -> Template:
    view = await service.queue_page(
        resources, access, xml_form_id, queue_query, cursor=cursor, t=translator, flash=flash
    )
    return page(request, "queue.html", t=translator, session=web_session, view=view)


@get(f"{_FORM}/households/{{instance:str}}")
async def household(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    web_session: SessionDep,
    translator: TranslatorDep,
    queue_query: QueryDep,
    flash: FlashDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
) -> Template:
    view = await service.household_page(
        resources, access, xml_form_id, instance, queue_query, t=translator, flash=flash
    )
    return page(request, "household.html", t=translator, session=web_session, view=view)


@get(f"{_FORM}/households/{{instance:str}}/photos/{{name:str}}")
async def photo(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
    name: FromPath[str],
) -> Stream:
    """A photo of the household, for the page's <img>: the same read, scope and headers as the API's attachment."""
    content_type, size, sha256, stream = await reading.read_attachment(resources, access, xml_form_id, instance, name)
    if content_type not in IMAGE_TYPES:
        raise Problem.not_found("photo")
    return Stream(
        content=stream,
        media_type=content_type,
        headers={
            "Content-Length": str(size),
            "Content-Disposition": content_disposition("inline", name),
            "ETag": f'"{sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


@get(f"{_FORM}/households/{{instance:str}}/photos/{{name:str}}/thumbnails/{{size:str}}")
async def thumbnail(
    resources: ResourcesDep,
    access: AccessDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
    name: FromPath[str],
    size: FromPath[str],
) -> Stream:
    """A photo's small (grid) or large (enlarged) thumbnail, from this origin (the page's CSP allows no other):
    the evidence capability's read, scope and headers."""
    content_type, length, sha256, stream = await evidence_reading.read_thumbnail(
        resources, access, xml_form_id, instance, name, size
    )
    if content_type not in IMAGE_TYPES:
        raise Problem.not_found("thumbnail")
    return Stream(
        content=stream,
        media_type=content_type,
        headers={
            "Content-Length": str(length),
            "Content-Disposition": content_disposition("inline", f"{size}-{name}"),
            "ETag": f'"{sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


def _stage_form(form: dict[str, Any]) -> actions.StageForm:
    return actions.StageForm(
        csrf=_text(form, "csrf"),
        step=_text(form, "step"),
        meeting_date=_text(form, "meeting_date"),
        agreement_percent=_text(form, "agreement_percent"),
        attendees=_text(form, "attendees"),
        posted_from=_text(form, "posted_from"),
        posted_until=_text(form, "posted_until"),
        complaints=_text(form, "complaints"),
        decision_number=_text(form, "decision_number"),
        decision_date=_text(form, "decision_date"),
        final_classification=_text(form, "final_classification"),
        note=_text(form, "note"),
    )


@post(f"{_FORM}/households/{{instance:str}}/stages", status_code=303)
async def take_step(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    web_session: SessionDep,
    queue_query: QueryDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
) -> Redirect:
    form = _stage_form(await _form(request))
    return _see_other(await actions.take_step(resources, access, web_session, xml_form_id, instance, form, queue_query))


@post(f"{_FORM}/stage-bulk", status_code=303)
async def bulk_step(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    web_session: SessionDep,
    queue_query: QueryDep,
    xml_form_id: FromPath[str],
) -> Redirect:
    """The queue page's bulk step: its form is the bulk decision's (the ticked households), posted here by the
    step's own button; the step's fields are prefixed (stage_*) so they never mix with the decision's."""
    form = await _form(request)
    ticked = form.get("instance", [])
    fields = {key.removeprefix("stage_"): value for key, value in form.items() if key.startswith("stage_")}
    chosen = actions.BulkStageForm(
        **msgspec.structs.asdict(_stage_form({**fields, "csrf": form.get("csrf")})),
        instances=[ticked] if isinstance(ticked, str) else [i for i in ticked if isinstance(i, str)],
    )
    return _see_other(await actions.bulk_step(resources, access, web_session, xml_form_id, chosen, queue_query))


@post(f"{_FORM}/households/{{instance:str}}/decision", status_code=303)
async def decide(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    web_session: SessionDep,
    translator: TranslatorDep,
    queue_query: QueryDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
) -> Redirect:
    form = await _form(request)
    decision = actions.DecisionForm(
        csrf=_text(form, "csrf"),
        decision=_text(form, "decision"),
        reason=_text(form, "reason"),
        note=_text(form, "note"),
    )
    target = await actions.decide(
        resources, access, web_session, xml_form_id, instance, decision, queue_query, translator.zone
    )
    return _see_other(target)


@post(f"{_FORM}/households/{{instance:str}}/comments", status_code=303)
async def comment(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    web_session: SessionDep,
    queue_query: QueryDep,
    xml_form_id: FromPath[str],
    instance: FromPath[str],
) -> Redirect:
    form = await _form(request)
    written = actions.CommentForm(csrf=_text(form, "csrf"), body=_text(form, "body") or "")
    return _see_other(
        await actions.comment(resources, access, web_session, xml_form_id, instance, written, queue_query)
    )


@post(f"{_FORM}/bulk", status_code=303)
async def bulk(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    web_session: SessionDep,
    translator: TranslatorDep,
    queue_query: QueryDep,
    xml_form_id: FromPath[str],
) -> Redirect:
    form = await _form(request)
    ticked = form.get("instance", [])
    chosen = actions.BulkForm(
        csrf=_text(form, "csrf"),
        decision=_text(form, "decision"),
        reason=_text(form, "reason"),
        note=_text(form, "note"),
        which=_text(form, "which") or "selected",
        instances=[ticked] if isinstance(ticked, str) else [i for i in ticked if isinstance(i, str)],
    )
    target = await actions.bulk(resources, access, web_session, xml_form_id, chosen, queue_query, translator.zone)
    return _see_other(target)


@post(f"{_FORM}/batches/{{batch_id:str}}/undo", status_code=303)
async def undo(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    web_session: SessionDep,
    queue_query: QueryDep,
    xml_form_id: FromPath[str],
    batch_id: FromPath[str],
) -> Redirect:
    form = await _form(request)
    target = await actions.undo(resources, access, web_session, xml_form_id, batch_id, _text(form, "csrf"), queue_query)
    return _see_other(target)


@get(f"{_FORM}/summary")
async def summary(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    web_session: SessionDep,
    translator: TranslatorDep,
    xml_form_id: FromPath[str],
) -> Template:
    view = await service.summary_page(resources, access, xml_form_id, t=translator)
    return page(request, "summary.html", t=translator, session=web_session, view=view)


_Year = Annotated[int | None, QueryParameter(required=False, ge=2000, le=2100)]


@get(f"{_FORM}/progress")
async def progress(
    request: Request[Any, Any, Any],
    resources: ResourcesDep,
    access: AccessDep,
    web_session: SessionDep,
    translator: TranslatorDep,
    xml_form_id: FromPath[str],
    year: _Year = None,
    district: _Text = None,
) -> Template:
    view = await progress_views.progress_page(
        resources, access, xml_form_id, year=year, district=district or None, t=translator
    )
    return page(request, "progress.html", t=translator, session=web_session, view=view)


@get(f"{_FORM}/progress.csv")
async def progress_csv(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], year: _Year = None, district: _Text = None
) -> Response[bytes]:
    """The page's figures as the API's CSV, for readers who have the session cookie rather than a token."""
    name, content = await progress_views.progress_csv(
        resources, access, xml_form_id, year=year, district=district or None
    )
    return Response(
        content=content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition("attachment", name), "Cache-Control": "no-store"},
    )


router = Router(
    path="/review",
    route_handlers=[
        home,
        sign_in_form,
        sign_in,
        sign_out,
        language,
        static_file,
        queue,
        household,
        photo,
        thumbnail,
        take_step,
        bulk_step,
        decide,
        comment,
        bulk,
        undo,
        summary,
        progress,
        progress_csv,
    ],
    dependencies={
        "web_session": Provide(_web_session),
        "actor": Provide(_actor, sync_to_thread=False),
        "translator": Provide(_translator, sync_to_thread=False),
        "queue_query": Provide(_queue_query, sync_to_thread=False),
        "flash": Provide(_flash, sync_to_thread=False),
    },
    exception_handlers={Exception: web_error},
    include_in_schema=False,
    tags=["review site"],
)


@get("/", include_in_schema=False)
async def root() -> Redirect:
    return _see_other("/review/")


root_router = Router(path="/", route_handlers=[root])
