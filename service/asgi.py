"""The ASGI entry point for uvicorn workers: settings from the environment, access logs and the body guard
around the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.app import create_app
from service.guard import BodyGuard
from service.logs import AccessLogMiddleware, configure_logging
from service.settings import Settings

if TYPE_CHECKING:
    from litestar.types import ASGIApp

__all__ = ["create_asgi_app"]


def create_asgi_app() -> ASGIApp:
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    guarded = BodyGuard(
        create_app(settings), window_s=settings.body_window_s, min_bytes_per_s=settings.body_min_bytes_per_s
    )
    # Outermost, so the access log shows the 408 the guard answers with.
    return AccessLogMiddleware(guarded)
