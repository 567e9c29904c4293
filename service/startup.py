"""The start-up step `serve` runs in a spawned child before the workers start (kept tiny: the supervisor
imports this module only, so it never loads the app, pyxform or a connection pool)."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

from service.db.migrate import MigrationError
from service.logs import configure_logging

if TYPE_CHECKING:
    from service.settings import Settings

__all__ = ["prepare_in_child"]


def prepare_in_child(settings: Settings) -> None:
    from service.bootstrap import prepare

    configure_logging(settings.log_level, settings.log_format)
    try:
        asyncio.run(prepare(settings))
    except MigrationError as exc:
        print(f"survey: cannot start: {exc}", file=sys.stderr)  # noqa: T201
        sys.exit(2)
