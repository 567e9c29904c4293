"""OData read benchmark: pages of a large form, as Excel, Power BI and pyODK read them; prints what it measured.

    .venv/bin/python bench/odata.py                      # 100 000 households of the example form, 5 members each
    .venv/bin/python bench/odata.py --households 20000 --runs 5
    .venv/bin/python bench/odata.py --full               # also the whole table in one response (streamed)

It starts an embedded PostgreSQL (or uses DATABASE_URL) and `survey serve` (WORKERS=1) on it and seeds households
of the example form with SQL (bench/seed.py). Then each request below runs `--runs` times (after one
warm-up) with a fresh connection, timing the whole response body; the median is printed, with the response size.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import Sampler
from seed import seeded_server

if TYPE_CHECKING:
    from ingest import Server


def _token(data: dict[str, Any]) -> str:
    return "01" + base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


async def _deep(database_url: str, form_id: int, position: int) -> tuple[str, str]:
    """The instanceID at a position of the feed (newest first), and a member row id in that household."""
    conn = await asyncpg.connect(database_url)
    try:
        instance: str = await conn.fetchval(
            """select instance_id from submissions where form_id = $1 and deleted_at is null
            order by created_at desc, id desc offset $2 limit 1""",
            form_id,
            position,
        )
    finally:
        await conn.close()
    member = hashlib.sha1(f"Submissions#{instance}%%members#4".encode()).hexdigest()  # noqa: S324
    return instance, member


def _time(url: str, headers: dict[str, str], runs: int, server: Server) -> tuple[float, int, int, int]:
    """Median seconds for the whole body (one warm-up first), its size, status, and the server's peak RSS."""
    timings = []
    size = status = 0
    sampler = Sampler([server.process])
    sampler.start()
    for attempt in range(runs + 1):
        with httpx.Client(timeout=600) as client:
            began = time.perf_counter()
            with client.stream("GET", url, headers=headers) as response:
                size = sum(len(chunk) for chunk in response.iter_raw())
                status = response.status_code
            elapsed = time.perf_counter() - began
        if attempt:
            timings.append(elapsed)
    sampler.stopped.set()
    sampler.join()
    return statistics.median(timings), size, status, sampler.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="also time the whole table in one response")
    parser.add_argument("--keep", metavar="DIR", help="keep the database in DIR (reused on the next run)")
    args = parser.parse_args()
    with seeded_server(args.households, "OData bench", workers=args.workers, keep=args.keep) as seeded:
        server, headers, database_url = seeded.server, seeded.headers, seeded.database_url
        svc = seeded.form_url(".svc")
        deep = min(90_000, args.households - 1001)
        instance, member = asyncio.run(_deep(database_url, seeded.form_id, deep))
        after = _token({"instanceId": instance})
        member_after = _token({"repeatId": member, "instanceId": instance})
        requests = [
            ("first page", f"{svc}/Submissions?$top=1000"),
            ("first page, $count", f"{svc}/Submissions?$top=1000&$count=true"),
            (f"page after row {deep}, $skiptoken", f"{svc}/Submissions?$top=1000&$skiptoken={after}"),
            (f"page after row {deep}, $skip", f"{svc}/Submissions?$top=1000&$skip={deep}"),
            ("one commune, $filter", f"{svc}/Submissions?$top=1000&$filter=__system/communeCode eq '19753'"),
            ("$wkt", f"{svc}/Submissions?$top=1000&$wkt=true"),
            ("$expand=*", f"{svc}/Submissions?$top=1000&$expand=*"),
            ("members, first page", f"{svc}/Submissions.members?$top=1000"),
            (
                f"members, after household {deep}",
                f"{svc}/Submissions.members?$top=1000&$skiptoken={member_after}",
            ),
            ("$metadata", f"{svc}/$metadata"),
        ]
        if args.full:
            requests.append(("the whole table", f"{svc}/Submissions"))
        print(f"{'request':44} {'median ms':>10} {'KB':>8} {'peak RSS MB':>12}  (runs={args.runs})")
        for name, url in requests:
            median, size, status, peak = _time(url, headers, args.runs, server)
            flag = "" if status == 200 else f"  HTTP {status}"
            print(f"{name:44} {median * 1000:10.1f} {size / 1024:8.0f} {peak / 1024 / 1024:12.0f}{flag}")


if __name__ == "__main__":
    main()
