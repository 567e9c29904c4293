"""What a job handler gets and what it answers: shared by the worker and the capabilities whose jobs it runs."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

import msgspec

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import ThreadPoolExecutor

    from service.db.pool import Connection
    from service.evidence.config import EvidenceConfig
    from service.resources import Resources

    from .queries import ClaimedJob

__all__ = ["JobContext", "Outcome", "hold_point"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Outcome(msgspec.Struct, frozen=True):
    """done: finished (or nothing to do); defer: not ready, ask again after `delay_s` without spending an attempt;
    again: a recurring job, next run after `delay_s`."""

    kind: Literal["done", "defer", "again"] = "done"
    delay_s: float = 0.0


@dataclass(slots=True, frozen=True)
class JobContext:
    res: Resources
    evidence: EvidenceConfig
    # CPU-heavy work (image decoding) runs here: as many threads as the worker runs jobs at once.
    cpu: ThreadPoolExecutor
    job: ClaimedJob
    # The job's own connection, for the whole job (one checkout, not one per statement); the worker settles the
    # job on it afterwards. Not in a transaction: handlers open theirs.
    conn: Connection

    async def in_cpu_pool(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.cpu, function, *args)


async def hold_point(name: str) -> None:
    """Test-only: when SURVEY_FAULT_POINT names this point, stop here (transaction open) until killed, so a test
    can SIGKILL the worker in the middle of a job. Inert otherwise (one dict lookup)."""
    if os.environ.get("SURVEY_FAULT_POINT") == name:
        log.warning("holding at fault point %s", name)
        await asyncio.sleep(3600)
