"""Export and sync benchmark on a large form; prints what it measured.

    .venv/bin/python bench/exports.py                        # 100 000 households of the example form, 5 members each
    .venv/bin/python bench/exports.py --households 20000 --runs 5
    .venv/bin/python bench/exports.py --keep /tmp/bench-db   # keep the seeded database for the next run

It starts an embedded PostgreSQL (or uses DATABASE_URL) and `survey serve` (WORKERS=1) on it and seeds households
of the example form with SQL (bench/seed.py). Then:

- each export (CSV ZIP without media, the households' CSV, XLSX, GeoJSON) is downloaded `--runs` times after one
  warm-up; printed: the median time to the last byte, its size, and the server's RSS growth (peak while streaming
  minus RSS before the first request; the server's own processes, PostgreSQL excluded);
- `survey sync` copies every household into an empty database on the same PostgreSQL server (`--runs` times, the
  target dropped in between); printed: the median wall time of the command, households per second;
- an incremental sync after 1,000 changes (a bulk approval of 1,000 households through the API), `--runs` times.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from typing import TYPE_CHECKING

from ingest import ROOT, Sampler
from seed import FORM_ID, seeded_server

if TYPE_CHECKING:
    from seed import Seeded

TARGET = "bench_sync_target"


def _server_processes(seeded: Seeded) -> list[psutil.Process]:
    root = psutil.Process(seeded.server.process.pid)
    return [root, *(p for p in root.children(recursive=True) if not p.name().startswith("postgres"))]


def _rss(processes: list[psutil.Process]) -> int:
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total


def _download(seeded: Seeded, suffix: str, runs: int) -> tuple[float, int, int]:
    """Median seconds to the last byte (after one warm-up), size, and RSS growth over the runs."""
    processes = _server_processes(seeded)
    before = _rss(processes)
    sampler = Sampler(processes)
    sampler.start()
    timings, size = [], 0
    for attempt in range(runs + 1):
        with httpx.Client(timeout=600) as client:
            began = time.perf_counter()
            with client.stream("GET", seeded.form_url(suffix), headers=seeded.headers) as response:
                response.raise_for_status()
                size = sum(len(chunk) for chunk in response.iter_raw())
            if attempt:
                timings.append(time.perf_counter() - began)
    sampler.stopped.set()
    sampler.join()
    return statistics.median(timings), size, max(0, sampler.peak - before)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _recreate_target(database_url: str) -> str:
    conn = await asyncpg.connect(_with_database(database_url, "postgres"))
    try:
        await conn.execute(f'drop database if exists "{TARGET}" with (force)')
        await conn.execute(f'create database "{TARGET}"')
    finally:
        await conn.close()
    return _with_database(database_url, TARGET)


def _sync(seeded: Seeded, target: str) -> float:
    command = [str(ROOT / ".venv/bin/survey"), "sync", "--target", target, "--project", str(seeded.project)]
    env = {**os.environ, "DATABASE_URL": seeded.database_url, "LOG_LEVEL": "WARNING"}
    began = time.perf_counter()
    done = subprocess.run([*command, "--form", FORM_ID], env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return elapsed


def _approve_next(seeded: Seeded, count: int) -> int:
    with httpx.Client(timeout=600, headers=seeded.headers) as client:
        answer = client.post(
            seeded.form_url("/review/bulk"),
            json={"reviewState": "approved", "state": ["received"], "limit": count},
        )
        answer.raise_for_status()
        changed: int = answer.json()["changed"]
        return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="keep the database in DIR (reused on the next run)")
    parser.add_argument("--skip-sync", action="store_true")
    args = parser.parse_args()
    with seeded_server(args.households, "Export bench", workers=args.workers, keep=args.keep) as seeded:
        print(f"{'export':36} {'median s':>9} {'MB':>8} {'RSS growth MB':>14}  (runs={args.runs})")
        for name, suffix in (
            ("CSV ZIP without media", "/submissions.csv.zip?attachments=false"),
            ("households CSV", "/submissions.csv"),
            ("XLSX (households + members)", "/submissions.xlsx"),
            ("GeoJSON", "/submissions.geojson"),
        ):
            median, size, growth = _download(seeded, suffix, args.runs)
            print(f"{name:36} {median:9.2f} {size / 1e6:8.1f} {growth / 1e6:14.1f}")
        if args.skip_sync:
            return
        full = []
        for _ in range(args.runs):
            target = asyncio.run(_recreate_target(seeded.database_url))
            full.append(_sync(seeded, target))
        median = statistics.median(full)
        print(
            f"sync into an empty target: median {median:.1f} s ({args.households / median:.0f} households/s), "
            f"runs {', '.join(f'{t:.1f}' for t in full)}"
        )
        incremental = []
        for _ in range(args.runs):
            changed = _approve_next(seeded, 1000)
            incremental.append(_sync(seeded, target))
        median = statistics.median(incremental)
        print(
            f"incremental sync after {changed} changes: median {median:.2f} s, "
            f"runs {', '.join(f'{t:.2f}' for t in incremental)} (includes the command's start, see below)"
        )
        idle = statistics.median([_sync(seeded, target) for _ in range(args.runs)])
        print(f"sync with nothing to do (the command's start and its checks): median {idle:.2f} s")


if __name__ == "__main__":
    main()
