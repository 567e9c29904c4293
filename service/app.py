"""create_app(settings): wiring only — routers, lifespan resources, dependencies and error handling."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig

from service import health
from service.appusers import routes as app_user_routes
from service.areas import routes as area_routes
from service.audits import routes as audit_routes
from service.auth import routes as auth_routes
from service.evidence import routes as evidence_routes
from service.exports import routes as export_routes
from service.forms import routes as forms_routes
from service.http import ApiRequest, dependencies, handle_exception, header_auth, token_auth
from service.jobs import routes as job_routes
from service.odata import routes as odata_routes
from service.openrosa import routes as openrosa_routes
from service.plans import routes as plan_routes
from service.progress import routes as progress_routes
from service.projects import routes as project_routes
from service.resources import open_resources
from service.review import routes as review_routes
from service.stages import routes as stage_routes
from service.submissions import routes as submission_routes
from service.web import docs as web_docs
from service.web import routes as web_routes
from service.web.rendering import template_config, web_error

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar import Request, Response

    from service.settings import Settings

__all__ = ["create_app"]

VERSION = "0.1.0"

# Everything under /projects/{project_id}: reachable as /v1/… (Authorization header) and as /v1/key/{token}/…
# (an app user's token, as ODK Central allows on every endpoint).
PROJECT_SCOPED = [
    forms_routes.router,
    app_user_routes.router,
    submission_routes.router,
    openrosa_routes.router,
    area_routes.form_areas_router,
    review_routes.review_router,
    review_routes.reasons_router,
    export_routes.router,
    stage_routes.router,
    plan_routes.router,
    progress_routes.form_router,
    odata_routes.router,
    evidence_routes.router,
]


def _handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Failures outside any router's own handler (no such route, wrong method): a page under /review, else JSON."""
    if request.url.path.startswith("/review/"):
        return web_error(request, exc)
    return handle_exception(request, exc)


def create_app(settings: Settings) -> Litestar:
    ZoneInfo(settings.review_time_zone)  # an unknown zone stops start-up, not the first page view

    @asynccontextmanager
    async def resources(app: Litestar) -> AsyncIterator[None]:
        async with open_resources(settings) as opened:
            app.state["resources"] = opened
            yield

    return Litestar(
        route_handlers=[
            health.router,
            auth_routes.router,
            project_routes.router,
            area_routes.areas_router,
            progress_routes.areas_router,
            audit_routes.router,
            job_routes.router,
            Router(path="/v1", route_handlers=PROJECT_SCOPED, dependencies=header_auth()),
            Router(path="/v1/key/{token:str}", route_handlers=PROJECT_SCOPED, dependencies=token_auth()),
            # The review site: HTML pages with a session cookie of their own (service/web).
            web_routes.router,
            web_routes.root_router,
            web_docs.docs_assets_router(),
        ],
        lifespan=[resources],
        dependencies=dependencies(),
        exception_handlers={Exception: _handle_exception},
        template_config=template_config(),
        request_max_body_size=settings.max_json_body_bytes,
        request_class=ApiRequest,
        openapi_config=OpenAPIConfig(
            title="Survey service",
            version=VERSION,
            description="ODK-compatible collection backend: OpenRosa for Collect, Central-shaped /v1 API.",
            path="/docs",
            # Swagger UI's files are served from here, not a CDN (service/web/docs.py).
            render_plugins=[web_docs.swagger_plugin()],
        ),
        logging_config=None,
        debug=False,
    )
