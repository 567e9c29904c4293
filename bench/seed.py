"""Seeding for the read benchmarks (bench/odata.py, bench/exports.py): a database, `survey serve` on it, and
households of the example form written straight into it with SQL.

`seeded_server(households, project_name, workers, keep)` starts an embedded PostgreSQL (or uses DATABASE_URL) and
`survey serve`, uploads forms/household_poverty_review_2023.xlsx into a project of that name, and seeds households in
batches: a submission and its current version with answers JSON shaped as ingest stores them (groups as objects, the
`members` repeat as a list of five, typed values, a GeoJSON point) and area codes from the form's own
district/commune/village lists. The XML of the seeded versions is a placeholder (readers of answers never read it).
With `keep`, the database stays in that folder and a second run only adds what is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import json
import os
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
from ingest import ADMIN, ROOT, XLSX, Server

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["FORM_ID", "Seeded", "seeded_server"]

FORM = ROOT / "forms/household_poverty_review_2023.xlsx"
CHOICES = ROOT / "forms/household_poverty_review_2023/choices.csv"
VILLAGES = ROOT / "forms/household_poverty_review_2023/villages.csv"
FORM_ID = "household_poverty_review_2023"
BATCH = 2000
WORDS = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Giang",
    "Hà",
    "Khánh",
    "Linh",
]


def _areas() -> list[tuple[str, str, str]]:
    """(district, commune, village) triples from the form's own lists."""
    with CHOICES.open(encoding="utf-8") as handle:
        communes = {row["name"]: row["district"] for row in csv.DictReader(handle) if row["list_name"] == "commune"}
    with VILLAGES.open(encoding="utf-8") as handle:
        villages = [
            (communes[row["commune"]], row["commune"], row["name"])
            for row in csv.DictReader(handle)
            if row["commune"] in communes
        ]
    return [v for v in villages if v[0]]


def _value(field: dict[str, Any], rng: random.Random) -> Any:
    kind = field["type"]
    if field.get("selectMultiple"):
        return rng.sample(["tv", "fridge", "motorbike", "phone", "computer", "aircon"], 2)
    if field.get("binary"):
        return f"{rng.randrange(10**12, 10**13)}.jpg"
    if kind in {"int", "integer"}:
        return rng.randrange(0, 5000)
    if kind == "decimal":
        return round(rng.uniform(10, 5000), 2)
    if kind == "date":
        return f"2023-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    if kind == "dateTime":
        return f"2023-10-{rng.randrange(1, 29):02d}T{rng.randrange(7, 18):02d}:{rng.randrange(60):02d}:00.000+07:00"
    if kind == "geopoint":
        return {
            "type": "Point",
            "coordinates": [round(rng.uniform(107.3, 107.9), 6), round(rng.uniform(16.1, 16.7), 6), 12.0],
            "properties": {"accuracy": round(rng.uniform(3, 15), 1)},
        }
    return " ".join(rng.sample(WORDS, 3))


def _answers(
    fields: list[dict[str, Any]], prefix: str, repeats: set[str], rng: random.Random, members: int
) -> dict[str, Any]:
    """Answers shaped as service/submissions/xml.py stores them, under `prefix` (the root, or a repeat)."""
    data: dict[str, Any] = {}
    inner = [r for r in repeats if r.startswith(prefix + "/")]
    for field in fields:
        path = field["path"]
        if not path.startswith(prefix + "/") or any(path.startswith(r + "/") for r in inner):
            continue  # elsewhere, or inside a repeat below this one (filled by its own call)
        parts = path[len(prefix) + 1 :].split("/")
        target = data
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        if path in repeats:
            target[parts[-1]] = [_answers(fields, path, repeats, rng, members) for _ in range(members)]
        elif field["type"] != "structure":
            target[parts[-1]] = _value(field, rng)
    return data


async def _seed(database_url: str, form_id: int, version_id: int, fields: list[dict[str, Any]], count: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        existing = await conn.fetchval("select count(*) from submissions where form_id = $1", form_id)
        areas = _areas()
        rng = random.Random(7)
        start = datetime(2023, 10, 1, tzinfo=UTC)
        root = "/" + fields[0]["path"].split("/")[1]
        repeats = {f["path"] for f in fields if f["repeat"]}
        done = existing
        began = time.monotonic()
        while done < count:
            size = min(BATCH, count - done)
            ids, answers, created, districts, communes, villages, names = [], [], [], [], [], [], []
            for i in range(done, done + size):
                district, commune, village = rng.choice(areas)
                data = _answers(fields, root, repeats, rng, 5)
                instance = f"uuid:{hashlib.md5(f'bench-{i}'.encode()).hexdigest()}"  # noqa: S324
                data.setdefault("meta", {})["instanceID"] = instance
                ids.append(instance)
                answers.append(json.dumps(data, ensure_ascii=False))
                created.append(start + timedelta(seconds=i * 7))
                districts.append(district)
                communes.append(commune)
                villages.append(village)
                names.append(" ".join(rng.sample(WORDS, 3)))
            async with conn.transaction():
                pairs = await conn.fetch(
                    """with input as (
                        select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[],
                                             $6::text[], $7::text[])
                            as t(instance_id, answers, created_at, district, commune, village, name)),
                    s as (
                        insert into submissions (form_id, instance_id, form_version_id, instance_name, device_id,
                            user_agent, attachments_expected, attachments_present, created_at, updated_at,
                            area_codes, district_code, commune_code, village_code)
                        select $8, i.instance_id, $9, i.name, 'collect:bench', 'org.odk.collect.android/v2024.2',
                            4, 4, i.created_at, i.created_at, array[i.district, i.commune, i.village],
                            i.district, i.commune, i.village
                        from input i
                        returning id, instance_id)
                    insert into submission_versions (submission_id, form_id, instance_id, form_version_id, xml,
                        xml_sha256, answers, instance_name, device_id, user_agent, received_at)
                    select s.id, $8, i.instance_id, $9, '<data/>', sha256(convert_to(i.instance_id, 'UTF8')),
                        i.answers::jsonb, i.name, 'collect:bench', 'org.odk.collect.android/v2024.2', i.created_at
                    from s join input i using (instance_id)
                    returning id, submission_id""",
                    ids,
                    answers,
                    created,
                    districts,
                    communes,
                    villages,
                    names,
                    form_id,
                    version_id,
                )
                await conn.execute(
                    """update submissions s set current_version_id = p.version_id
                    from unnest($1::bigint[], $2::bigint[]) as p(version_id, submission_id)
                    where s.id = p.submission_id""",
                    [p["id"] for p in pairs],
                    [p["submission_id"] for p in pairs],
                )
            done += size
            rate = (done - existing) / (time.monotonic() - began)
            print(f"\r  seeded {done}/{count} households ({rate:.0f}/s)", end="", flush=True)
        print()
        await conn.execute("vacuum analyze submissions")
        await conn.execute("vacuum analyze submission_versions")
    finally:
        await conn.close()


async def _ids(database_url: str, project: int) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            """select f.id as form, f.current_version_id as version, v.schema from forms f
            join form_versions v on v.id = f.current_version_id where f.project_id = $1 and f.xml_form_id = $2""",
            project,
            FORM_ID,
        )
    finally:
        await conn.close()
    assert row is not None, "the form is not there"
    schema = json.loads(row["schema"]) if isinstance(row["schema"], str) else row["schema"]
    return {"form": row["form"], "version": row["version"], "repeats": set(schema.get("repeats", []))}


@dataclass
class Seeded:
    server: Server
    database_url: str
    token: str
    project: int
    form_id: int
    households: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def form_url(self, suffix: str = "") -> str:
        return f"{self.server.url}/v1/projects/{self.project}/forms/{FORM_ID}{suffix}"


@contextlib.contextmanager
def seeded_server(households: int, project_name: str, *, workers: int = 1, keep: str | None = None) -> Iterator[Seeded]:
    with contextlib.ExitStack() as stack:
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            from service.db.embedded import embedded_postgres

            folder = Path(keep) if keep else Path(stack.enter_context(tempfile.TemporaryDirectory()))
            database_url = stack.enter_context(embedded_postgres(folder / "pg"))
            os.environ["DATABASE_URL"] = database_url
        server = Server(workers)
        stack.callback(server.stop)
        print(f"server {server.url} (WORKERS={workers}), database {database_url.rsplit('@', 1)[-1]}")
        with httpx.Client(base_url=server.url, timeout=300) as client:
            token = client.post("/v1/sessions", json=ADMIN).json()["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            projects = client.get("/v1/projects").json()
            project = next((p["id"] for p in projects if p["name"] == project_name), None)
            if project is None:
                project = client.post("/v1/projects", json={"name": project_name}).json()["id"]
                created = client.post(
                    f"/v1/projects/{project}/forms?publish=true&ignoreWarnings=true",
                    content=FORM.read_bytes(),
                    headers={"Content-Type": XLSX},
                )
                created.raise_for_status()
                client.post(f"/v1/projects/{project}/forms/{FORM_ID}/areas/load").raise_for_status()
            fields = client.get(f"/v1/projects/{project}/forms/{FORM_ID}/fields").json()
        ids = asyncio.run(_ids(database_url, project))
        for field in fields:
            field["repeat"] = field["path"] in ids["repeats"]
        asyncio.run(_seed(database_url, ids["form"], ids["version"], fields, households))
        yield Seeded(server, database_url, token, project, ids["form"], households)
