"""The review site's world (tests/web/conftest.py): its project, users per role and households of the example form."""

from __future__ import annotations

from tests.web.conftest import site, world

__all__ = ["site", "world"]
