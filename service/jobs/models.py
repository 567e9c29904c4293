"""The jobs overview as GET /v1/system/jobs shows it."""

from __future__ import annotations

from datetime import datetime

from service.structs import Output

__all__ = ["JobErrorOut", "JobsOut"]


class JobErrorOut(Output, kw_only=True):
    id: int
    kind: str
    key: str
    state: str
    attempts: int
    error: str
    at: datetime


class JobsOut(Output, kw_only=True):
    # {kind: {state: count}}, states queued, running, done, failed.
    counts: dict[str, dict[str, int]]
    # Seconds the oldest ready job has waited: how far behind the workers are (null: nothing waiting).
    oldest_ready_s: float | None
    last_errors: list[JobErrorOut]
