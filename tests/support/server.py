"""Run the real server (`python -m service serve`, uvicorn and all) in a child process for wire tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["LiveServer", "free_port", "live_server"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log_path: Path, media_root: Path) -> None:
        self.process = process
        self.url = url
        self.log_path = log_path
        self.media_root = media_root

    def spool_files(self) -> list[Path]:
        return list(self.media_root.glob(".spool/*.part"))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_exit(self, timeout: float = 10) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@contextmanager
def live_server(
    *, database_url: str, tmp_path: Path, env: Mapping[str, str] | None = None, port: int | None = None
) -> Iterator[LiveServer]:
    port = port or free_port()
    log_path = tmp_path / f"server-{port}.log"
    child_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DATA_DIR": str(tmp_path / "data"),
        "LOAD_EXAMPLE_FORM": "false",
        "FORM_VALIDATE": "off",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        "LOG_FORMAT": "text",
        "MEDIA_MIN_FREE_BYTES": str(1024 * 1024),
        "ADMIN_EMAIL": "admin@example.org",
        "ADMIN_PASSWORD": "correct horse battery",
        # No background job worker unless a test asks for one (tests/jobs/test_serve.py): wire tests look at the
        # media store and the database, which a worker would change under them.
        "SERVE_WORKERS": "0",
        **(env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve"], env=child_env, stdout=log, stderr=subprocess.STDOUT
        )
    server = LiveServer(process, f"http://127.0.0.1:{port}", log_path, Path(child_env["MEDIA_ROOT"]))
    try:
        _wait_ready(server)
        yield server
    finally:
        server.stop()


def _wait_ready(server: LiveServer, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server did not start within {timeout} s:\n{server.log()}")
