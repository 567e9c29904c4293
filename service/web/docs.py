"""The API docs page (/docs) without a CDN: Swagger UI's own files come from the `swagger-ui-py` package and are
served by us under a versioned path (so they may be cached for a year), and Litestar's Swagger render plugin is
pointed at them. Field offices are often offline; the docs page must work there too.

`swagger-ui-py` (Swagger UI 5.x, kept up to date) rather than `swagger-ui-bundle`: the latter ships Swagger UI
4.15, which cannot render the OpenAPI 3.1 documents Litestar produces. Its static folder is served as it is.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from .rendering import assets

if TYPE_CHECKING:
    from litestar import Router

__all__ = ["docs_assets_router", "swagger_plugin", "swagger_ui_dir"]


def swagger_ui_dir() -> Path:
    """The package's static folder, found without importing it (it imports every web framework's adapter)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed (requirements.lock has it)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def _prefix() -> str:
    return f"/docs/assets/{importlib.metadata.version('swagger-ui-py')}"


def swagger_plugin() -> SwaggerRenderPlugin:
    prefix = _prefix()
    return SwaggerRenderPlugin(
        js_url=f"{prefix}/swagger-ui-bundle.js",
        css_url=f"{prefix}/swagger-ui.css",
        standalone_preset_js_url=f"{prefix}/swagger-ui-standalone-preset.js",
        # Litestar's default favicon is on a CDN too.
        favicon=f"<link rel='icon' type='image/svg+xml' href='{assets().url('icon.svg')}'>",
    )


def docs_assets_router() -> Router:
    return create_static_files_router(
        path=_prefix(),
        directories=[swagger_ui_dir()],
        name="swagger-ui",
        cache_control=CacheControlHeader(public=True, max_age=365 * 24 * 3600, immutable=True),
        include_in_schema=False,
    )
