"""`survey serve` runs a job worker beside its web workers, restarts it if it dies, and stops it on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

import psutil
import pytest

from tests.support.db import create_database, drop_database, with_database
from tests.support.server import live_server

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def fresh_database(pg_server_url: str, template_db: str) -> Iterator[str]:
    name = asyncio.run(create_database(pg_server_url, template_db))
    yield with_database(pg_server_url, name)
    asyncio.run(drop_database(pg_server_url, name))


def _workers(pid: int) -> list[psutil.Process]:
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if child.cmdline()[-2:] == ["service", "worker"]:
                found.append(child)
        except psutil.Error:
            continue
    return found


def _wait(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def _sweep_ran(database_url: str) -> bool:
    async def check() -> bool:
        import asyncpg

        conn = await asyncpg.connect(database_url)
        try:
            return bool(
                await conn.fetchval(
                    "select run_after > now() + interval '30 minutes' from jobs where kind = 'housekeeping'"
                )
            )
        finally:
            await conn.close()

    return asyncio.run(check())


def test_serve_runs_a_worker_and_stops_it(fresh_database: str, tmp_path: Path) -> None:
    with live_server(database_url=fresh_database, tmp_path=tmp_path, env={"SERVE_WORKERS": "1"}) as server:
        _wait(lambda: len(_workers(server.process.pid)) == 1)
        [worker] = _workers(server.process.pid)
        assert worker.nice() == 19  # below the web workers (and SCHED_IDLE)
        # It works: the housekeeping sweep the migration queued has run and queued its next run.
        _wait(lambda: _sweep_ran(fresh_database))
        # A worker that dies is replaced.
        worker.kill()
        _wait(lambda: [w.pid for w in _workers(server.process.pid)] not in ([], [worker.pid]), timeout=20)
        [replacement] = _workers(server.process.pid)
        server.process.terminate()
        assert server.wait_exit(30) == 0
        assert not replacement.is_running() or replacement.status() == psutil.STATUS_ZOMBIE


def test_a_worker_does_not_outlive_a_killed_serve(fresh_database: str, tmp_path: Path) -> None:
    with live_server(database_url=fresh_database, tmp_path=tmp_path, env={"SERVE_WORKERS": "1"}) as server:
        _wait(lambda: len(_workers(server.process.pid)) == 1)
        [worker] = _workers(server.process.pid)
        web = [c for c in psutil.Process(server.process.pid).children(recursive=True) if c.pid != worker.pid]
        server.process.kill()  # no cleanup at all
        server.wait_exit(10)
        try:
            _wait(lambda: not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE, timeout=20)
        finally:
            for process in [worker, *web]:  # uvicorn's own workers do outlive it (__main__.py says so): ours to stop
                with contextlib.suppress(psutil.Error):
                    process.kill()
