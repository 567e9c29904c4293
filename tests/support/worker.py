"""The real job worker (`python -m service worker`) in a child process, configured like the test's own Resources."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from service.settings import Settings

__all__ = ["run_worker", "settings_env", "start_worker"]

# Tests want retries now, not in 10 s.
_FAST = {"JOB_BACKOFF_S": "0.2", "LOG_FORMAT": "text", "LOG_LEVEL": "INFO", "WORKER_NICE": "0"}


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment a `survey` child process needs to decode these settings (fields that differ from defaults)."""
    from service.settings import Settings as Defaults

    defaults = Defaults()
    env = {}
    for name in settings.__struct_fields__:
        value = getattr(settings, name)
        if value is None or value == getattr(defaults, name):
            continue
        if isinstance(value, bool):
            env[name.upper()] = "true" if value else "false"
        elif isinstance(value, Path):
            env[name.upper()] = str(value)
        else:
            env[name.upper()] = str(value)
    return env


def _env(settings: Settings, extra: Mapping[str, str] | None) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k != "SURVEY_FAULT_POINT"}
    return {**inherited, **_FAST, **settings_env(settings), **(extra or {})}


def run_worker(
    settings: Settings,
    *,
    kinds: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    log: Path | None = None,
) -> str:
    """`survey worker --drain`: runs until no job is due, then exits; returns its log (fails the test on error)."""
    command = [sys.executable, "-m", "service", "worker", "--drain"]
    if kinds:
        command += ["--kinds", kinds]
    done = subprocess.run(
        command, env=_env(settings, env), capture_output=True, timeout=timeout, check=False, text=True
    )
    output = done.stdout + done.stderr
    if log is not None:
        log.write_text(output)
    assert done.returncode == 0, output
    return output


def start_worker(
    settings: Settings, *, env: Mapping[str, str] | None = None, log: Path, drain: bool = False
) -> subprocess.Popen[bytes]:
    """A worker left running (the caller stops or kills it); its output goes to `log`."""
    command = [sys.executable, "-m", "service", "worker"] + (["--drain"] if drain else [])
    with log.open("ab") as handle:
        return subprocess.Popen(command, env=_env(settings, env), stdout=handle, stderr=subprocess.STDOUT)
