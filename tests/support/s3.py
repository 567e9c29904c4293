"""moto's S3 server as a real separate process on loopback, stoppable and restartable to test "S3 is down".

    with MotoServer() as moto:            # or: moto = MotoServer().start(); ...; moto.stop()
        moto.create_bucket("media")
        ... S3Store(endpoint_url=moto.endpoint, bucket="media", ...) ...
        moto.stop()                       # connections are now refused
        moto.restart()                    # same port, empty state: create the bucket again

The server never outlives the tests: `stop()` terminates, then kills; an atexit hook stops whatever a test forgot;
and the child watches its parent, exiting if pytest itself dies without cleaning up (SIGKILL, a crashed worker).
moto keeps objects in memory, so a long session should `reset()` between tests.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from typing import IO, TYPE_CHECKING

import boto3
import httpx

from tests.support.server import free_port

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

    from mypy_boto3_s3 import S3Client

__all__ = ["ACCESS_KEY", "REGION", "SECRET_KEY", "MotoServer", "create_bucket", "s3_client"]

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"

# `python -m moto.server`, plus a thread that ends the server when its parent (the test run) is gone.
_LAUNCHER = """
import os, sys, threading, time
parent = os.getppid()
def watch_parent():
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)
threading.Thread(target=watch_parent, daemon=True).start()
from moto.server import main
main(["-H", "127.0.0.1", "-p", sys.argv[1]])
"""

_running: set[MotoServer] = set()


@atexit.register
def _stop_forgotten_servers() -> None:
    for server in list(_running):
        server.stop()


def s3_client(endpoint: str, *, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> S3Client:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
    )


def create_bucket(endpoint: str, name: str) -> None:
    """Create a bucket on the S3 server at `endpoint` (any S3, not only moto)."""
    client = s3_client(endpoint)
    try:
        client.create_bucket(Bucket=name)
    finally:
        client.close()


class MotoServer:
    """One `moto.server` child process on 127.0.0.1. `env` adds variables for it, e.g. to turn on auth checks."""

    def __init__(self, port: int | None = None, *, env: Mapping[str, str] | None = None) -> None:
        self._fixed_port = port is not None
        self.port = port or free_port()
        self.env_extra = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._admin: S3Client | None = None  # made once: a boto3 client costs 50-150 ms to build

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> MotoServer:
        """Start and wait until it answers HTTP. A port taken meanwhile is retried on a new one (unless fixed)."""
        for attempt in range(3):
            if self._try_start(timeout):
                return self
            if self._fixed_port or attempt == 2:
                break
            self.port = free_port()
        log = self.last_log
        self.stop()
        raise RuntimeError(f"moto server did not start on port {self.port}: {log}")

    def stop(self) -> None:
        """Terminate, then kill; idempotent. Afterwards connections to `endpoint` are refused."""
        process, self.process = self.process, None
        _running.discard(self)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def restart(self) -> MotoServer:
        """Stop and start again on the same port. moto keeps state in memory: buckets must be created again."""
        self.stop()
        self._fixed_port = True
        return self.start()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def last_log(self) -> str:
        """The tail of the server's output, for error messages."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def reset(self) -> None:
        """Forget every bucket and object (frees the server's memory between tests)."""
        httpx.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()

    def client(self) -> S3Client:
        """A boto3 client for this server, shared and closed by stop(): for setting up and inspecting."""
        if self._admin is None:
            self._admin = s3_client(self.endpoint)
        return self._admin

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def env(self, bucket: str) -> dict[str, str]:
        """Server settings that point the S3 media backend here."""
        return {
            "MEDIA_BACKEND": "s3",
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_BUCKET": bucket,
            "S3_ACCESS_KEY_ID": ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def __enter__(self) -> MotoServer:
        return self if self.running else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _try_start(self, timeout: float) -> bool:
        self.stop()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server; stop() closes it
        self.process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env_extra},
        )
        _running.add(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False  # exited: most likely the port was taken
            with contextlib.suppress(httpx.HTTPError):
                # moto's own API, so that another server that grabbed the port is not mistaken for it
                if httpx.get(f"{self.endpoint}/moto-api/data.json", timeout=1).status_code == 200:
                    return True
            time.sleep(0.05)
        log = self.last_log
        self.stop()
        raise RuntimeError(f"moto server did not answer within {timeout}s: {log}")
