"""How the review pages are answered: the Jinja2 environment, the headers every page carries, the reader's language,
and the one HTML renderer of Problems (from service/problems.py `problem_for`, like the JSON and OpenRosa ones).

Every page is `Cache-Control: no-store` (it holds a CSRF token and people's data, often on a shared office computer)
and carries a Content-Security-Policy that allows nothing from elsewhere: the pages load only their own CSS, JS and
the household's photos, and post forms only to this server.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Response
from litestar.datastructures import Cookie
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from service.http import is_https
from service.problems import problem_for

from .assets import load_assets
from .i18n import MESSAGES, Translator, negotiate
from .session import SIGN_IN_COOKIE, cookie_name, new_sign_in_token

if TYPE_CHECKING:
    from litestar import Request

    from service.errors import Problem
    from service.resources import Resources

    from .assets import Assets
    from .session import WebSession

__all__ = [
    "LANG_COOKIE",
    "PAGE_HEADERS",
    "SIGN_IN_PATH",
    "assets",
    "page",
    "safe_next",
    "sign_in_page",
    "template_config",
    "translator",
    "web_error",
]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
SIGN_IN_PATH = "/review/sign-in"
HOME_PATH = "/review/"
LANG_COOKIE = "lang"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


@functools.cache
def assets() -> Assets:
    return load_assets()


def translator(request: Request[Any, Any, Any]) -> Translator:
    resources: Resources = request.app.state["resources"]
    lang = negotiate(
        request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )
    return Translator(lang, resources.settings.local_zone())


def _here(request: Request[Any, Any, Any]) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(value: str | None) -> str:
    """Where to go after signing in or switching language: only a path of the review site on this server."""
    if value and value.startswith("/review") and not value.startswith("//") and "\\" not in value:
        return value
    return HOME_PATH


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    t: Translator,
    session: WebSession | None,
    view: Any = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    cookies: list[Cookie] | None = None,
    **context: Any,
) -> Template:
    here = _here(request)
    other = "en" if t.lang == "vi" else "vi"
    return Template(
        template_name=template,
        context={
            "t": t,
            "lang": t.lang,
            "session": session,
            "view": view,
            "asset": assets().url,
            "language_url": f"/review/language?{urlencode({'to': other, 'next': here})}",
            **context,
        },
        status_code=status_code,
        headers={**PAGE_HEADERS, **(headers or {})},
        cookies=cookies or [],
        media_type="text/html; charset=utf-8",
    )


def sign_in_page(
    request: Request[Any, Any, Any],
    t: Translator,
    *,
    secure: bool,
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    """The sign-in form with its double-submitted token (the cookie's, or a new one set with it)."""
    name = cookie_name(SIGN_IN_COOKIE, secure=secure)
    token = request.cookies.get(name)
    cookies = []
    if not token:
        token = new_sign_in_token()
        cookies.append(
            Cookie(key=name, value=token, path="/", secure=secure, httponly=True, samesite="lax", max_age=12 * 3600)
        )
    next_path = safe_next(request.query_params.get("next"))
    # The form posts its `next` in the query too, so a refused attempt shows the form again with it.
    action = SIGN_IN_PATH if next_path == HOME_PATH else f"{SIGN_IN_PATH}?{urlencode({'next': next_path})}"
    return page(
        request,
        "sign_in.html",
        t=t,
        session=None,
        status_code=status_code,
        headers=headers,
        cookies=cookies,
        sign_in_token=token,
        next_path=next_path,
        sign_in_action=action,
        error=error,
        notice=notice,
    )


def _minutes(problem: Problem) -> int:
    seconds = int(problem.headers.get("Retry-After", "60") or 60)
    return max(1, -(-seconds // 60))


def web_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Any failure under /review, as a page: signed out → the sign-in page; a refused sign-in → the sign-in form
    again, saying why; anything else → the error page with the Problem's status and headers (Retry-After)."""
    problem = problem_for(exc)
    t = translator(request)
    secure = is_https(request)
    if request.url.path == SIGN_IN_PATH:
        if problem.status == 429:
            error = t("signin.throttled", minutes=_minutes(problem))
        elif problem.status in {401, 400}:
            error = t("signin.failed")
        else:
            error = t(f"error.{problem.status}") if problem.status in {403, 503} else t("error.500")
        return sign_in_page(
            request, t, secure=secure, error=error, status_code=problem.status, headers=dict(problem.headers)
        )
    if problem.status == 401:
        target = _here(request) if request.method == "GET" else HOME_PATH
        return Response(
            content=b"",
            status_code=303,
            headers={"Location": f"{SIGN_IN_PATH}?next={quote(target, safe='')}", "Cache-Control": "no-store"},
        )
    known = {400, 403, 404, 409, 413, 429, 500, 503}
    key = problem.status if problem.status in known else (400 if problem.status < 500 else 500)
    detail = problem.message if 400 <= problem.status < 500 and problem.status not in {403, 404} else None
    message = _field_problem(problem, t) or t(f"error.{key}")
    refused = _stage_refusal(problem, t)
    if refused is not None:
        message, detail = refused, None
    return page(
        request,
        "error.html",
        t=t,
        session=None,
        status_code=problem.status,
        headers=dict(problem.headers),
        message=message,
        detail=detail,
        status=problem.status,
        back_url=_back_from(request),
    )


# The form fields a service may name in a 400 (details.field), by the label the page shows them under.
_FIELD_LABELS = {
    "reason": "household.reason",
    "note": "stage.note",
    "meetingDate": "stage.meeting_date",
    "agreementPercent": "stage.agreement",
    "attendees": "stage.attendees_label",
    "postedFrom": "stage.posted_from",
    "postedUntil": "stage.posted_until",
    "complaints": "stage.complaints_label",
    "decisionNumber": "stage.decision_number",
    "decisionDate": "stage.decision_date",
    "finalClassification": "stage.final_classification",
}


def _field_problem(problem: Problem, t: Translator) -> str | None:
    """A missing or wrong field of a form, named as the form labels it (the service's own words stay as the
    detail); None when the problem names no field the pages know."""
    label = _FIELD_LABELS.get(str((problem.details or {}).get("field")))
    if label is None or problem.code not in {400.2, 400.8}:
        return None
    return t("error.missing_field" if problem.code == 400.2 else "error.bad_field", field=t(label))


# Why the stages service refused a step (409.52, details.households[].reason), said to the reader.
_REFUSALS = {
    "final": "stage.refused_final",
    "wrong_stage": "stage.refused_wrong_stage",
    "before_meeting": "stage.refused_before_meeting",
    "not_approved": "stage.refused_not_approved",
    "before_posting": "stage.refused_before_posting",
}


def _stage_refusal(problem: Problem, t: Translator) -> str | None:
    """The first household's reason in the reader's language (and how many more could not), or None for any other
    problem. A reason this page does not know keeps the service's own words."""
    households = (problem.details or {}).get("households") if problem.code == 409.52 else None
    if not households:
        return None
    first = households[0]
    key = _REFUSALS.get(first.get("reason", ""))
    if key is None:
        text = problem.message
    else:
        clash = first.get("date")
        stage = first.get("stage", "")
        text = t(
            key,
            stage=t(f"stage.{stage}") if f"stage.{stage}" in MESSAGES else stage,
            date=t.day(date.fromisoformat(clash)) if clash else "",
        )
    if len(households) > 1:
        text += " " + t("stage.refused_more", n=t.number(len(households) - 1))
    return text


def _back_from(request: Request[Any, Any, Any]) -> str | None:
    """After a refused form, the page it was sent from (this site's own paths, the queue's filter kept)."""
    if request.method != "POST":
        return None
    path = request.url.path
    query = f"?{request.url.query}" if request.url.query else ""
    if "/households/" in path:
        for action in ("/stages", "/decision", "/comments"):
            if path.endswith(action):
                return path.removesuffix(action) + query
    for action in ("/bulk", "/stage-bulk"):
        if path.endswith(action):
            return path.removesuffix(action) + "/queue" + query
    return None
