"""Progress against the targets at scale: GET …/forms/{f}/progress (JSON and CSV) over 100,000 households of the
example form, for the whole province and for one district.

    .venv/bin/python bench/progress.py                        # 100 000 households, 3 runs of 20 requests each
    .venv/bin/python bench/progress.py --households 20000 --runs 3 --requests 10
    .venv/bin/python bench/progress.py --keep /tmp/bench-db   # keep the seeded database for the next run

It starts an embedded PostgreSQL (or uses DATABASE_URL) and `survey serve` (WORKERS=1) and seeds households with SQL
(bench/seed.py). Then, with SQL, it gives them what progress reads: a server classification (about 6 % poor, 8 %
near-poor, 3 % unclassified, the rest above the line), a recognised final class for a third of them, a status
before the review (`prior_status`), the 2023 housing rule true for about 5 %, and for 60 % of those an exit plan
with a housing action (40 M or 20 M VND, half of them done); and it imports a total for every commune (CSV, through
the API). Each request is timed on loopback, one at a time, after one warm-up; printed: the median over `--runs` runs
of each run's p50 and p95.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed import CHOICES, seeded_server

DISTRICT = "481"


async def _shape(database_url: str, form_id: int) -> None:
    """Classes, statuses before the review, housing eligibility and housing actions, spread by a hash of the id so
    that every run shapes the same households the same way."""
    conn = await asyncpg.connect(database_url)
    try:
        if await conn.fetchval("select count(*) from exit_plans") > 0:
            return  # a kept database, shaped already
        began = time.monotonic()
        await conn.execute(
            """update submissions s set
                classification = case when s.id % 100 < 6 then 'poor' when s.id % 100 < 14 then 'near_poor'
                                      when s.id % 100 < 17 then 'unclassified' when s.id % 100 < 60 then 'average'
                                      else 'other' end,
                final_classification = case when s.id % 3 = 0 and s.id % 100 >= 17 then
                    case when s.id % 100 < 7 then 'poor' when s.id % 100 < 14 then 'near_poor' else 'average' end end,
                classification_detail = jsonb_build_object('tempHouse2023',
                    jsonb_build_object('eligible', s.id % 100 < 14 and s.id % 7 < 3))
            where s.form_id = $1""",
            form_id,
        )
        await conn.execute(
            """update submission_versions v set answers = jsonb_set(v.answers, '{g_hh,prior_status}',
                to_jsonb((array['poor', 'near_poor', 'escaped', 'none'])[1 + (v.submission_id % 4)::int]))
            where v.form_id = $1""",
            form_id,
        )
        await conn.execute(
            """with eligible as (
                select id from submissions
                where form_id = $1 and (classification_detail #>> '{tempHouse2023,eligible}') = 'true' and id % 5 < 3
            ), plans as (
                insert into exit_plans (submission_id, owner_name) select id, 'Cán bộ xã' from eligible
                returning id, submission_id
            )
            insert into exit_plan_actions (plan_id, support_type, description, amount_vnd, done_on)
            select id, 'housing', 'Hỗ trợ nhà ở', case when submission_id % 2 = 0 then 40000000 else 20000000 end,
                   case when submission_id % 4 < 2 then date '2024-06-30' end
            from plans""",
            form_id,
        )
        await conn.execute("vacuum analyze submissions")
        await conn.execute("vacuum analyze submission_versions")
        await conn.execute("analyze exit_plans")
        await conn.execute("analyze exit_plan_actions")
        print(f"  shaped the households for progress in {time.monotonic() - began:.1f} s")
    finally:
        await conn.close()


def _totals_csv() -> str:
    import csv

    with CHOICES.open(encoding="utf-8") as handle:
        communes = [row["name"] for row in csv.DictReader(handle) if row["list_name"] == "commune"]
    # About 2,300 households per commune: 141 communes, some 330,000 households, as the province has.
    return "area_code,year,households\n" + "".join(f"{code},2023,{2000 + i * 5}\n" for i, code in enumerate(communes))


def _time(client: httpx.Client, url: str, params: dict[str, str], requests: int) -> tuple[float, float]:
    client.get(url, params=params).raise_for_status()  # warm-up
    timings = []
    for _ in range(requests):
        began = time.perf_counter()
        client.get(url, params=params).raise_for_status()
        timings.append(time.perf_counter() - began)
    timings.sort()
    return statistics.median(timings), timings[max(0, round(0.95 * len(timings)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--keep", metavar="DIR", help="keep the database in DIR (reused on the next run)")
    args = parser.parse_args()
    with seeded_server(args.households, "Progress bench", keep=args.keep) as seeded:
        asyncio.run(_shape(seeded.database_url, seeded.form_id))
        with httpx.Client(timeout=120, headers=seeded.headers) as client:
            client.put(
                f"{seeded.server.url}/v1/areas/household-totals",
                content=_totals_csv(),
                headers={"Content-Type": "text/csv"},
            ).raise_for_status()
            cases = {
                "progress JSON, whole province": ("/progress", {}),
                f"progress JSON, district {DISTRICT}": ("/progress", {"area": DISTRICT}),
                "progress CSV, whole province": ("/progress.csv", {}),
            }
            province = client.get(seeded.form_url("/progress")).json()["rows"][0]
            print(
                f"province: {province['surveyed']} households surveyed, {province['poor']} poor, "
                f"rate {province['poorRate']} % of {province['households']}"
            )
            print(f"{'request':36} {'p50 ms':>8} {'p95 ms':>8}  (median of {args.runs} runs x {args.requests})")
            for name, (suffix, params) in cases.items():
                runs = [_time(client, seeded.form_url(suffix), params, args.requests) for _ in range(args.runs)]
                p50 = statistics.median(r[0] for r in runs) * 1000
                p95 = statistics.median(r[1] for r in runs) * 1000
                print(f"{name:36} {p50:8.0f} {p95:8.0f}")


if __name__ == "__main__":
    main()
