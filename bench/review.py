"""Review at scale: 100,000 households of the example form across its 141 communes, then the review queue (JSON API
and the review site's page) for a commune supervisor and a district supervisor, and a bulk approval of 1,000.

    .venv/bin/python bench/review.py                                   # embedded PostgreSQL in a temporary folder
    .venv/bin/python bench/review.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/review.py --households 20000 --runs 3 --requests 40

It starts `survey serve` (one worker) on a fresh database (with --database-url: a new database on that server,
dropped at the end unless --keep), lets it publish the example form and load its areas, creates the two supervisors
through the API, then seeds the households directly with SQL in batches, in the shape ingest writes them
(submission_versions with their answers JSON, submissions with their area codes, a main geopoint, app users as
submitters, a spread of received times and review states, and photo evidence's risk scores: 85 % of households
checked, scores mostly low with a long tail). No HTTP for the seeding.

Measured on loopback, one request at a time: GET …/forms/{f}/review/queue (Bearer; oldest first, and riskiest first
by the seeded risk scores, its first and 10th page), GET /review/…/queue (both orders) and the area summary page
(the session cookie) for each supervisor, `--requests` each per run; then POST …/review/bulk
approving 1,000 received households of the district, once per run. Printed: the median over `--runs` runs of each
run's p50 and p95 (targets: commune < 50 ms p95, district < 100 ms p95, bulk of 1,000 < 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
FORM = "household_poverty_review_2023"
ADMIN = {"email": "bench@example.org", "password": "bench password 1"}
PASSWORD = "supervisor password 1"  # noqa: S105 - a throwaway account on a throwaway database
COMMUNE, DISTRICT = "19750", "474"
BATCH = 10_000


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


class Server:
    """`survey serve` (one worker) on the given database, in a child process."""

    def __init__(self, database_url: str, directory: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WORKERS": "1",
            "DATA_DIR": str(directory / "data"),
            "MEDIA_ROOT": str(directory / "media"),
            "LOAD_EXAMPLE_FORM": "true",
            "LOG_LEVEL": "WARNING",
            "ADMIN_EMAIL": ADMIN["email"],
            "ADMIN_PASSWORD": ADMIN["password"],
        }
        self.log = (directory / "server.log").open("wb")
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/survey"), "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            if self.process.poll() is not None:
                raise SystemExit((directory / "server.log").read_text())
            time.sleep(0.3)
        raise SystemExit("server did not start")

    def stop(self) -> None:
        self.process.send_signal(2)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


def _setup_people(url: str) -> tuple[int, dict[str, int]]:
    """The project, and the two supervisors (commune 19750, district 474) created and assigned through the API."""
    with httpx.Client(base_url=url, timeout=60) as api:
        token = api.post("/v1/sessions", json=ADMIN).raise_for_status().json()["token"]
        api.headers["Authorization"] = f"Bearer {token}"
        project = api.get("/v1/projects").raise_for_status().json()[0]["id"]
        ids = {}
        for name, area in (("commune", COMMUNE), ("district", DISTRICT)):
            email = f"{name}@bench.example"
            user = api.post("/v1/users", json={"email": email, "password": PASSWORD, "displayName": name})
            ids[name] = user.raise_for_status().json()["id"]
            api.post(
                f"/v1/projects/{project}/assignments/supervisor/{ids[name]}", json={"areaCodes": [area]}
            ).raise_for_status()
    return project, ids


_SEED = """
with communes as (
    select code, parent_code, (row_number() over (order by code) - 1)::int as i, count(*) over () as n
    from areas where level = 'commune'
), households as (
    select g, c.code as commune, c.parent_code as district, nextval('submissions_id_seq') as id,
           'uuid:' || gen_random_uuid() as instance_id,
           now() - make_interval(secs => random() * 60 * 86400) as created_at,
           random() as r, random() as r_checked, random() as r_risk,
           16.2 + random() * 0.6 as lat, 107.2 + random() * 0.8 as lon,
           (select a.id from app_users a where a.display_name = 'Bench ' || c.code || '-' || (g % 2) limit 1)
               as app_user
    from generate_series($1::int, $2::int) g
    join communes c on c.i = g % c.n
), shaped as (
    select h.*,
           case when r < 0.45 then null when r < 0.80 then 'approved' when r < 0.90 then 'hasIssues'
                else 'rejected' end as review_state,
           -- Photo evidence: 85 % checked, most scores low and a long tail of risky households.
           case when r_checked < 0.15 then null else least(100, floor(power(r_risk, 3) * 120))::int end
               as risk_score,
           '46-' || commune || '-other-' || g as hh_id,
           jsonb_build_object(
               'start', to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS'), 'deviceid', 'collect:bench',
               'g_intro', jsonb_build_object('enum_name', 'RSV ' || commune, 'consent', 'yes'),
               'g_loc', jsonb_build_object('district', district, 'commune', commune, 'village', 'other',
                   'hh_gps', jsonb_build_object('type', 'Point', 'coordinates', jsonb_build_array(lon, lat, 12.0),
                                                'properties', jsonb_build_object('accuracy', 6.5))),
               'g_hh', jsonb_build_object('hh_no', g, 'head_name', 'Chủ hộ ' || g, 'hh_size', 1 + g % 6,
                                          'prior_status', 'near_poor'),
               'members', jsonb_build_array(jsonb_build_object('m_name', 'Chủ hộ ' || g, 'm_rel', 'head',
                                                               'm_age', 20 + g % 60)),
               'g_income', jsonb_build_object('inc_agri', 24000, 'inc_wage', g % 50000, 'inc_pc_month', 1500000),
               'g_house', jsonb_build_object('house_tenure', 'owned', 'house_class', 'ban_kien_co',
                   'roof_material', case when g % 7 = 0 then 'n_thatch' else 'd_tile' end, 'house_area', 36.5,
                   'temp_house_flag', case when g % 7 = 0 then 'yes' else 'no' end,
                   'photo_front', g || '-front.jpg', 'photo_roof', g || '-roof.jpg',
                   'photo_interior', g || '-interior.jpg'),
               'g_result', jsonb_build_object('dep_count', g % 5, 'classification', 'near_poor'),
               'meta', jsonb_build_object('instanceID', instance_id)
           ) as answers
    from households h
), versions as (
    insert into submission_versions
        (submission_id, form_id, instance_id, form_version_id, xml, xml_sha256, answers, instance_name,
         submitter_app_user_id, device_id, user_agent, is_current, received_at)
    select id, $3, instance_id, $4,
           '<data id="household_poverty_review_2023" version="2023090101">' || repeat('<x>bench</x>', 120)
               || '<meta><instanceID>' || instance_id || '</instanceID></meta></data>',
           sha256(convert_to(instance_id, 'UTF8')), answers, hh_id || ' ' || chr(8211) || ' Chủ hộ ' || g, app_user,
           'collect:bench', 'bench', true, created_at
    from shaped
    returning id, submission_id
)
insert into submissions
    (id, form_id, instance_id, current_version_id, form_version_id, review_state, instance_name,
     submitter_app_user_id, device_id, latitude, longitude, altitude, accuracy, attachments_expected,
     attachments_present, created_at, updated_at, reviewed_at, district_code, commune_code, village_code,
     area_codes, user_agent, risk_score, evidence_info, evidence_warn, evidence_risk, evidence_checked_at)
overriding system value
select s.id, $3, s.instance_id, v.id, $4, s.review_state, s.hh_id || ' ' || chr(8211) || ' Chủ hộ ' || s.g, s.app_user,
       'collect:bench', s.lat, s.lon, 12.0, 6.5, 3, 3, s.created_at, s.created_at,
       case when s.review_state is not null then s.created_at + interval '1 day' end,
       s.district, s.commune, null, household_area_codes(s.district, s.commune, null), 'bench',
       s.risk_score, case when s.risk_score is null then 0 else 2 end, coalesce(s.risk_score % 35 / 10, 0),
       coalesce(s.risk_score / 35, 0), case when s.risk_score is not null then s.created_at + interval '5 minutes' end
from shaped s join versions v on v.submission_id = s.id
"""


async def _seed(database_url: str, households: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        form = await conn.fetchrow(
            "select f.id, f.current_version_id, f.project_id from forms f where f.xml_form_id = $1", FORM
        )
        assert form is not None, "the server publishes the example form at start-up"
        form_id, version_id, project = form["id"], form["current_version_id"], form["project_id"]
        await conn.execute(
            """insert into app_users (project_id, display_name, token_hash, token_issued_at)
            select $1, 'Bench ' || a.code || '-' || k, sha256(convert_to(a.code || '-' || k, 'UTF8')), now()
            from areas a cross join generate_series(0, 1) k where a.level = 'commune'""",
            project,
        )
        started = time.monotonic()
        for first in range(0, households, BATCH):
            last = min(first + BATCH, households) - 1
            async with conn.transaction():
                await conn.execute(_SEED, first, last, form_id, version_id)
            print(f"  seeded {last + 1:>7,} households ({time.monotonic() - started:5.1f} s)", flush=True)
        # What autovacuum does soon after a load: statistics, and the visibility map index-only scans rely on.
        for table in ("submissions", "submission_versions", "app_users"):
            await conn.execute(f"vacuum analyze {table}")
    finally:
        await conn.close()


def _sign_in_page(url: str, email: str) -> httpx.Client:
    """A browser-like client signed in through the review site's form (its cookie and CSRF token)."""
    client = httpx.Client(base_url=url, timeout=60)
    form = client.get("/review/sign-in").raise_for_status().text
    token = re.search(r'name="token" value="([^"]+)"', form)
    assert token is not None
    client.post("/review/sign-in", data={"email": email, "password": PASSWORD, "token": token.group(1)})
    return client


def _timed(client: httpx.Client, path: str, count: int, **kwargs: object) -> list[float]:
    for _ in range(3):  # warm the connection and the caches
        client.get(path, **kwargs).raise_for_status()  # type: ignore[arg-type]
    times = []
    for _ in range(count):
        started = time.perf_counter()
        client.get(path, **kwargs).raise_for_status()  # type: ignore[arg-type]
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _tenth_page(api: httpx.Client, path: str) -> str:
    """The address of the queue's 10th page (50 households each): the cursor must keep its speed deep in the queue."""
    target = path
    for _ in range(9):
        cursor = api.get(target).raise_for_status().json()["nextCursor"]
        assert cursor, "the queue has fewer than 10 pages"
        target = f"{path}&{urlencode({'cursor': cursor})}"
    return target


def _measure(url: str, project: int, runs: int, requests: int) -> None:
    api_path = f"/v1/projects/{project}/forms/{FORM}/review/queue"
    page_path = f"/review/projects/{project}/forms/{FORM}/queue"
    summary_path = f"/review/projects/{project}/forms/{FORM}/summary"
    results: dict[str, list[tuple[float, float]]] = {}
    sessions = {}
    for name in ("commune", "district"):
        api = httpx.Client(base_url=url, timeout=60)
        login = api.post("/v1/sessions", json={"email": f"{name}@bench.example", "password": PASSWORD})
        api.headers["Authorization"] = f"Bearer {login.raise_for_status().json()['token']}"
        sessions[name] = (api, _sign_in_page(url, f"{name}@bench.example"))
    deep = {name: _tenth_page(api, f"{api_path}?sort=risk") for name, (api, _) in sessions.items()}
    for _ in range(runs):
        for name, (api, page) in sessions.items():
            for label, client, path in (
                ("queue API", api, api_path),
                ("queue API, not reviewed", api, f"{api_path}?state=received"),
                ("queue API, riskiest first", api, f"{api_path}?sort=risk"),
                ("queue API, riskiest first, 10th page", api, deep[name]),
                ("queue API, riskiest, not reviewed", api, f"{api_path}?sort=risk&state=received"),
                ("queue page", page, page_path),
                ("queue page, not reviewed", page, f"{page_path}?state=received"),
                ("queue page, riskiest first", page, f"{page_path}?sort=risk"),
                ("area summary page", page, summary_path),
            ):
                times = _timed(client, path, requests)
                results.setdefault(f"{name:8} {label}", []).append((_p(times, 0.5), _p(times, 0.95)))
    print(f"\nqueue latency, {requests} requests per run, median of {runs} runs (ms):")
    for key, per_run in results.items():
        p50 = statistics.median(r[0] for r in per_run)
        p95 = statistics.median(r[1] for r in per_run)
        print(f"  {key:50} p50 {p50:6.1f}   p95 {p95:6.1f}")
    api = sessions["district"][0]
    bulk_times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = api.post(
            f"/v1/projects/{project}/forms/{FORM}/review/bulk",
            json={"reviewState": "approved", "state": ["received"], "area": DISTRICT, "limit": 1000},
        ).raise_for_status()
        bulk_times.append((time.perf_counter() - started) * 1000)
        assert done.json()["changed"] == 1000, done.text
    print(
        f"\nbulk approval of 1,000 households (district supervisor), median of {runs} runs: "
        f"{statistics.median(bulk_times):.0f} ms  (runs: {', '.join(f'{t:.0f}' for t in bulk_times)})"
    )
    for api, page in sessions.values():
        api.close()
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL server to make the bench database on")
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the database (with --database-url)")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="survey-bench-review-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, directory, ignore_errors=True)
        if args.database_url:
            name = f"survey_bench_{uuid.uuid4().hex[:8]}"
            admin_url = _with_database(args.database_url, "postgres")
            asyncio.run(_admin(admin_url, f'create database "{name}"'))
            if not args.keep:
                stack.callback(lambda: asyncio.run(_admin(admin_url, f'drop database "{name}" with (force)')))
            database_url = _with_database(args.database_url, name)
            print(f"database: {database_url}{' (kept)' if args.keep else ''}")
        else:
            from service.db.embedded import embedded_postgres

            database_url = stack.enter_context(embedded_postgres(directory / "pg"))
        server = Server(database_url, directory)
        stack.callback(server.stop)
        project, _ = _setup_people(server.url)
        print(f"seeding {args.households:,} households of {FORM} across its communes")
        asyncio.run(_seed(database_url, args.households))
        _measure(server.url, project, args.runs, args.requests)


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
