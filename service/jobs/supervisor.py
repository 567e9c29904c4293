"""The job workers `survey serve` runs beside its web workers: child processes, watched from a thread.

Each is `python -m service worker` with serve's environment (so the embedded database's URL too). One that exits
unasked (killed, out of memory) is started again after a pause. On stop: SIGTERM (the worker hands back what it
cannot finish), then SIGKILL after a timeout. A Ctrl-C in a terminal reaches them directly too (same process group);
they stop the same way. And should `serve` itself die without stopping them (SIGKILL), each notices that its parent
is gone (SURVEY_WORKER_PARENT) and stops too, instead of living on as an orphan.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

__all__ = ["PARENT_ENV", "WorkerSupervisor"]

PARENT_ENV = "SURVEY_WORKER_PARENT"

log = logging.getLogger(__name__)

_RESTART_PAUSE_S = 5.0
_STOP_TIMEOUT_S = 20.0


class WorkerSupervisor:
    def __init__(self, count: int) -> None:
        self.count = max(0, count)
        self.processes: list[subprocess.Popen[bytes]] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="job-worker-supervisor", daemon=True)

    def start(self) -> None:
        if not self.count:
            return
        with self._lock:
            self.processes = [self._spawn() for _ in range(self.count)]
        self._thread.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        # The worker watches this process and stops when it is gone, even if it died without cleaning up (SIGKILL).
        env = {**os.environ, PARENT_ENV: str(os.getpid())}
        process = subprocess.Popen([sys.executable, "-m", "service", "worker"], env=env)
        log.info("started job worker (pid %d)", process.pid)
        return process

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            with self._lock:
                for index, process in enumerate(self.processes):
                    if process.poll() is None:
                        continue
                    log.warning("job worker (pid %d) exited with %s; starting another", process.pid, process.returncode)
                    if self._stopping.wait(_RESTART_PAUSE_S):
                        return
                    self.processes[index] = self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(_RESTART_PAUSE_S + 2)
        with self._lock:
            for process in self.processes:
                if process.poll() is None:
                    process.terminate()
            for process in self.processes:
                try:
                    process.wait(_STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    log.warning("job worker (pid %d) did not stop; killing it", process.pid)
                    process.kill()
                    process.wait(5)
