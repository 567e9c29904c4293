"""Photo evidence benchmarks: how fast the worker drains a backlog, what it costs intake, how fast the reused-photo
lookup answers at a million stored hashes. Every run is bounded and cleans up after itself.

    .venv/bin/python bench/evidence.py drain --photos 200               # photos/s of one worker, CPU-ms per photo
    .venv/bin/python bench/evidence.py drain --photos 100 --size 4032x3024
    .venv/bin/python bench/evidence.py intake --runs 3                  # bench/ingest.py without and with a worker
    .venv/bin/python bench/evidence.py lookup --hashes 1000000          # near-duplicate lookup latency

Each mode starts what it needs: an embedded PostgreSQL in a temporary folder (or the server of DATABASE_URL, in a
database of its own that is dropped at the end), a local media store in a temporary folder, and for `intake` a
`survey serve` (2 web workers, no job worker) plus `survey worker` processes started and stopped by the bench.
Photos are photo-like JPEGs with EXIF (GPS, time) made here, each made unique (a JPEG comment), so every one is a
distinct content that the worker really analyses.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import psutil
from openpyxl import Workbook
from PIL import Image, ImageDraw, TiffImagePlugin

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.db.migrate import default_migrations_dir, load_migrations, migrate  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
POINT = (16.4637, 107.5909)


# Photos


def _photo(seed: int, width: int, height: int) -> bytes:
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    image = Image.blend(image, Image.new("RGB", (width, height), (rng.randrange(256), 120, 60)), 0.5)
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(width // 10, width // 3), rng.randrange(height // 10, height // 3)
        draw.rectangle((x, y, x + w, y + h), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    # Sensor-like noise, so the JPEG weighs what a phone photo of that size weighs.
    noise = Image.effect_noise((width, height), 24).convert("RGB")
    image = Image.blend(image, noise, 0.25)
    tags = Image.Exif()
    tags[0x010F], tags[0x0110] = "samsung", "SM-A155F"
    tags.get_ifd(0x8769)[0x9003] = (datetime.now(UTC) + timedelta(hours=7)).strftime("%Y:%m:%d %H:%M:%S")
    gps = tags.get_ifd(0x8825)
    r = TiffImagePlugin.IFDRational
    for tag, value in ((2, POINT[0]), (4, POINT[1])):
        degrees, minutes = int(value), int((value % 1) * 60)
        gps[tag] = (r(degrees, 1), r(minutes, 1), r(round(((value % 1) * 60 % 1) * 60 * 1000), 1000))
    gps[1], gps[3] = "N", "E"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88, exif=tags)
    return buffer.getvalue()


def _unique(photo: bytes) -> bytes:
    """The same picture, other bytes: a JPEG comment right after SOI."""
    return photo[:2] + b"\xff\xfe\x00\x12" + uuid.uuid4().bytes + photo[2:]


def _distinct(photo: bytes, seed: int) -> bytes:
    """Another picture (other house, other perceptual hash) on the same background: a few big shapes drawn on it,
    re-encoded with its EXIF. A backlog of copies would make every household match every other one."""
    rng = random.Random(seed)
    with Image.open(io.BytesIO(photo)) as original:
        exif = original.getexif()
        image = original.convert("RGB")
    draw = ImageDraw.Draw(image)
    width, height = image.size
    for _ in range(6):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(width // 6, width // 2), rng.randrange(height // 6, height // 2)
        draw.rectangle((x, y, x + w, y + h), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88, exif=exif)
    return buffer.getvalue()


def _form_xlsx(photos: int) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(["type", "name", "label", "parameters"])
    sheet.append(["geopoint", "gps", "GPS", None])
    for i in range(photos):
        sheet.append(["image", f"photo_{i}", f"Photo {i}", "max-pixels=1600"])
    settings = workbook.create_sheet("settings")
    settings.append(["form_id", "version"])
    settings.append(["bench", "1"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xml(instance: str, names: list[str]) -> bytes:
    photos = "".join(f"<photo_{i}>{name}</photo_{i}>" for i, name in enumerate(names))
    return (
        f'<data id="bench" version="1"><gps>{POINT[0]} {POINT[1]} 10 5</gps>{photos}'
        f"<meta><instanceID>{instance}</instanceID></meta></data>"
    ).encode()


# A database and a media folder for one run


@contextlib.contextmanager
def _database(directory: Path) -> Iterator[str]:
    """A fresh, migrated database: on DATABASE_URL's server, else on an embedded PostgreSQL in `directory`."""
    with ExitStack() as stack:
        server = os.environ.get("DATABASE_URL")
        if not server:
            from service.db.embedded import embedded_postgres

            server = stack.enter_context(embedded_postgres(directory / "pg"))
        name = f"bench_{uuid.uuid4().hex[:10]}"
        base = server.rsplit("/", 1)[0] if "?" not in server else server.split("?")[0].rsplit("/", 1)[0]
        query = "?" + server.split("?", 1)[1] if "?" in server else ""
        asyncio.run(_admin(f"{base}/postgres{query}", f'create database "{name}"'))
        url = f"{base}/{name}{query}"
        try:
            asyncio.run(_migrate(url))
            yield url
        finally:
            asyncio.run(_admin(f"{base}/postgres{query}", f'drop database if exists "{name}" with (force)'))


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn, load_migrations(default_migrations_dir()))
    finally:
        await conn.close()


def _env(url: str, media: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(media),
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
        **extra,
    }


def _postgres() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.name().startswith("postgres"):
                found.append(process)
    return found


def _pg_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL process now, by pid (backends come and go: compare by pid)."""
    found = {}
    for process in _postgres():
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            found[process.pid] = times.user + times.system
    return found


def _pg_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


# drain


async def _seed_households(url: str, media: Path, households: int, photos: list[bytes]) -> int:
    from service.auth.access import access_to
    from service.auth.models import SYSTEM
    from service.forms import service as forms
    from service.openrosa.multipart import ReceivedFile, ReceivedSubmission
    from service.projects.service import ensure_default_project
    from service.resources import open_resources
    from service.settings import Settings
    from service.submissions.service import ingest_submission

    settings = Settings(database_url=url, media_root=media, load_example_form=False, form_validate="off")
    async with open_resources(settings) as res:
        project = await ensure_default_project(res, "Bench")
        access = await access_to(res, SYSTEM, project)
        with contextlib.suppress(Exception):
            await forms.create_form(
                res,
                access,
                _form_xlsx(2),
                content_type=XLSX,
                fallback_form_id=None,
                publish=True,
                ignore_warnings=True,
            )
        for _ in range(households):
            names = [f"{uuid.uuid4().hex}.jpg" for _ in range(2)]
            files = {}
            for name in names:
                data = _distinct(random.choice(photos), random.randrange(1 << 30))
                spool = res.store.spool(limit=len(data))
                spool.write(data)
                files[name] = ReceivedFile(name=name, declared_type="image/jpeg", spool=spool, info=spool.finish())
            received = ReceivedSubmission(xml=_xml(f"uuid:{uuid.uuid4()}", names), files=files)
            await ingest_submission(res, access, received, device_id="bench", user_agent="bench")
    return households * 2


def _wait_started(log: Path, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "started" in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise SystemExit(log.read_text(errors="replace"))
        time.sleep(0.02)
    raise SystemExit("worker did not start")


def _drain_once(
    url: str, media: Path, directory: Path, args: argparse.Namespace, photos: list[bytes]
) -> dict[str, float]:
    count = asyncio.run(_seed_households(url, media, args.photos // 2, photos))
    log = directory / f"worker-{uuid.uuid4().hex[:6]}.log"
    env = _env(
        url,
        media,
        LOG_LEVEL="INFO",
        WORKER_CONCURRENCY=str(args.concurrency),
        WORKER_NICE=str(args.nice),
        WORKER_IDLE="false",
    )
    with log.open("wb") as handle:
        process = psutil.Popen(
            [str(ROOT / ".venv/bin/survey"), "worker", "--drain", "--kinds", "photo,evidence"],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    _wait_started(log, process)
    started, cpu_before, pg_before = time.perf_counter(), _cpu([process]), _pg_cpu()
    machine_before = psutil.cpu_times()
    last_cpu, pg_after = cpu_before, pg_before
    while process.poll() is None:  # sample until the very end: a finished process has no CPU times to read
        last_cpu = max(last_cpu, _cpu([process]))
        pg_after = {**pg_after, **_pg_cpu()}
        time.sleep(0.02)
    wall = time.perf_counter() - started
    machine_after = psutil.cpu_times()
    busy = sum(machine_after) - sum(machine_before) - (machine_after.idle - machine_before.idle)
    if process.returncode != 0:
        raise SystemExit(log.read_text())
    return {
        "photos": count,
        "wall_s": wall,
        "photos_per_s": count / wall,
        "worker_cpu_ms_per_photo": (last_cpu - cpu_before) * 1000 / count,
        "pg_cpu_ms_per_photo": _pg_delta(pg_before, pg_after) * 1000 / count,
        "machine_cores_busy": busy / wall,
    }


def drain(args: argparse.Namespace) -> None:
    width, height = (int(v) for v in args.size.split("x"))
    photos = [_photo(seed, width, height) for seed in range(6)]
    print(f"photos: {width}x{height}, {statistics.mean(len(p) for p in photos) / 1024:.0f} KB on average")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as scratch:
        directory = Path(scratch)
        with _database(directory) as url:
            for run in range(args.runs):
                media = directory / f"media-{run}"
                result = _drain_once(url, media, directory, args, photos)
                results.append(result)
                print(
                    f"run {run + 1}: {result['photos']:.0f} photos in {result['wall_s']:.2f} s = "
                    f"{result['photos_per_s']:.1f} photos/s; worker "
                    f"{result['worker_cpu_ms_per_photo']:.1f} CPU-ms/photo "
                    f"(= {1000 / result['worker_cpu_ms_per_photo']:.0f} photos/s per core), PostgreSQL "
                    f"{result['pg_cpu_ms_per_photo']:.1f} CPU-ms/photo; machine {result['machine_cores_busy']:.2f} "
                    "cores busy"
                )
    rate = statistics.median(r["photos_per_s"] for r in results)
    cost = statistics.median(r["worker_cpu_ms_per_photo"] for r in results)
    pg = statistics.median(r["pg_cpu_ms_per_photo"] for r in results)
    print(
        f"median of {len(results)}: {rate:.1f} photos/s with concurrency {args.concurrency}; "
        f"{cost:.1f} worker CPU-ms/photo = {1000 / cost:.0f} photos/s per core "
        f"({1000 / (cost + pg):.0f} with PostgreSQL's share)"
    )


# intake


def _serve(directory: Path, url: str, media: Path) -> tuple[psutil.Popen, str]:
    import socket

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = _env(
        url,
        media,
        HOST="127.0.0.1",
        PORT=str(port),
        WORKERS="2",
        SERVE_WORKERS="0",
        LOAD_EXAMPLE_FORM="false",
        ADMIN_EMAIL="bench@example.org",
        ADMIN_PASSWORD="bench password 1",  # noqa: S106 - a throwaway server on loopback
        DATA_DIR=str(directory / "data"),
    )
    log = (directory / "serve.log").open("wb")
    process = psutil.Popen([str(ROOT / ".venv/bin/survey"), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        if process.poll() is not None:
            raise SystemExit((directory / "serve.log").read_text())
        time.sleep(0.2)
    raise SystemExit("server did not start")


def _setup(base: str) -> tuple[str, int]:
    import httpx

    with httpx.Client(base_url=base, timeout=60) as client:
        token = client.post("/v1/sessions", json={"email": "bench@example.org", "password": "bench password 1"})
        client.headers["Authorization"] = f"Bearer {token.json()['token']}"
        project = client.post("/v1/projects", json={"name": "Bench"}).json()["id"]
        client.post(
            f"/v1/projects/{project}/forms?publish=true&ignoreWarnings=true",
            content=_form_xlsx(2),
            headers={"Content-Type": XLSX},
        ).raise_for_status()
        user = client.post(f"/v1/projects/{project}/app-users", json={"displayName": "bench", "forms": ["bench"]})
        return user.json()["token"], project


def _foreign_cores(seconds: float = 1.0) -> float:
    """Cores busy with processes other than this bench's (its servers, workers and database are idle between runs)."""
    before = psutil.cpu_times()
    time.sleep(seconds)
    after = psutil.cpu_times()
    busy: float = sum(after) - sum(before) - (after.idle - before.idle)
    return busy / seconds


def _wait_quiet(limit: float, max_wait_s: float) -> float:
    """Wait (bounded) until other work on the machine uses less than `limit` cores; return what it used last."""
    deadline = time.monotonic() + max_wait_s
    load = _foreign_cores()
    while load >= limit and time.monotonic() < deadline:
        load = _foreign_cores()
    return load


def _photo_jobs(url: str, state: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval("select count(*) from jobs where kind = 'photo' and state = $1", state))
        finally:
            await conn.close()

    return asyncio.run(count())


def _ingest(
    base: str, token: str, project: int, server: psutil.Popen, count: int, concurrency: int
) -> tuple[float, float]:
    """(submissions/s, server CPU-ms per submission) of one bench/ingest.py run against the running server."""
    done = subprocess.run(
        [
            str(ROOT / ".venv/bin/python"),
            str(ROOT / "bench/ingest.py"),
            "--url",
            base,
            "--token",
            token,
            "--project",
            str(project),
            "--server-pid",
            str(server.pid),
            "--count",
            str(count),
            "--concurrency",
            str(concurrency),
            "--photos",
            "2",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    lines = done.stdout.splitlines()
    rate = next(line for line in lines if line.startswith("throughput:"))
    cpu = next(line for line in lines if line.startswith("server CPU-ms per submission:"))
    return float(rate.split()[1]), float(cpu.rsplit(" ", 1)[1])


def intake(args: argparse.Namespace) -> None:
    photos = [_photo(seed, 1600, 1200) for seed in range(6)]
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as scratch:
        directory = Path(scratch)
        with _database(directory) as url:
            media = directory / "media"
            server, base = _serve(directory, url, media)
            try:
                token, project = _setup(base)
                # The backlog the worker drains while the load runs: 2 real photos per household.
                seeded = asyncio.run(_seed_households(url, media, args.backlog, photos))
                print(f"backlog: {seeded} photos ({_photo_jobs(url, 'queued')} photo jobs queued)")
                without: list[tuple[float, float]] = []
                with_worker: list[tuple[float, float]] = []

                def measured_with_worker(run: int) -> None:
                    log = directory / f"worker-{run}.log"
                    env = _env(
                        url,
                        media,
                        LOG_LEVEL="INFO",
                        WORKER_NICE=str(args.nice),
                        WORKER_IDLE="true" if args.idle else "false",
                        WORKER_CONCURRENCY=str(args.worker_concurrency),
                    )
                    with log.open("wb") as handle:
                        worker = psutil.Popen(
                            [str(ROOT / ".venv/bin/survey"), "worker", "--kinds", "photo,evidence"],
                            env=env,
                            stdout=handle,
                            stderr=subprocess.STDOUT,
                        )
                    _wait_started(log, worker)
                    time.sleep(1)  # let it reach full speed
                    done, started = _photo_jobs(url, "done"), time.perf_counter()
                    with_worker.append(_ingest(base, token, project, server, args.count, args.concurrency))
                    analysed, elapsed = _photo_jobs(url, "done") - done, time.perf_counter() - started
                    worker.terminate()
                    worker.wait(30)
                    left = _photo_jobs(url, "queued")
                    print(f"  with the worker: the worker analysed {analysed} photos ({analysed / elapsed:.1f}/s)")
                    if left == 0:
                        print("  warning: the backlog ran out during the run; raise --backlog")

                for run in range(args.runs):
                    foreign = _wait_quiet(args.quiet, args.quiet_wait)
                    print(f"  other work on the machine before run {run + 1}: {foreign:.2f} cores")
                    # Alternate which goes first, so a drift in the machine's other load does not favour one side.
                    if run % 2:
                        measured_with_worker(run)
                        without.append(_ingest(base, token, project, server, args.count, args.concurrency))
                    else:
                        without.append(_ingest(base, token, project, server, args.count, args.concurrency))
                        measured_with_worker(run)
                    (a, a_cpu), (b, b_cpu) = without[-1], with_worker[-1]
                    print(
                        f"run {run + 1}: {a:.1f} submissions/s without the worker, {b:.1f} with it ({b / a - 1:+.1%});"
                        f" server CPU-ms per submission {a_cpu:.2f} / {b_cpu:.2f}"
                    )
            finally:
                server.send_signal(2)
                try:
                    server.wait(30)
                except psutil.TimeoutExpired:
                    for child in server.children(recursive=True):
                        child.kill()
                    server.kill()
    a, b = statistics.median(r for r, _ in without), statistics.median(r for r, _ in with_worker)
    change = statistics.median(w[0] / o[0] - 1 for w, o in zip(with_worker, without, strict=True))
    cpu_change = statistics.median(w[1] / o[1] - 1 for w, o in zip(with_worker, without, strict=True))
    print(
        f"median of {args.runs}: {a:.1f} submissions/s without, {b:.1f} with the worker "
        f"(median of the per-run changes: {change:+.1%}; worker nice {args.nice}{', SCHED_IDLE' if args.idle else ''}"
        f", concurrency {args.worker_concurrency}); server CPU per submission {cpu_change:+.1%}"
    )


# lookup


async def _lookup(url: str, args: argparse.Namespace) -> None:
    from service.db.pool import create_pool
    from service.evidence.queries import similar_blobs

    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        await conn.execute("set synchronous_commit = off")
        await conn.execute(
            """insert into blobs (sha256, size, content_type, storage_key)
            select sha256(int8send(i)), 1, 'image/jpeg', 'blobs/x' from generate_series(1, $1) as i""",
            args.hashes,
        )
        # Uniformly random 64-bit hashes: the worst case for bucket sizes is clustering, which real photos of
        # different houses do not do at 16-bit bands; near-duplicates are added below.
        await conn.execute(
            """insert into photo_analyses (blob_id, status, phash)
            select id, 'ok', ((floor(random() * 4294967296)::bigint << 32)
                              | floor(random() * 4294967296)::bigint) from blobs"""
        )
        await conn.execute("analyze photo_analyses")
        print(f"seeded {args.hashes} hashes in {time.perf_counter() - started:.1f} s")
        samples = [int(r[0]) for r in await conn.fetch("select phash from photo_analyses order by random() limit 300")]
    finally:
        await conn.close()
    rng = random.Random(7)
    queries = []
    for i, base in enumerate(samples):
        if i % 2 == 0:
            flipped = base & ((1 << 64) - 1)
            for bit in rng.sample(range(64), rng.randrange(0, args.distance + 1)):
                flipped ^= 1 << bit
            queries.append((flipped - (1 << 64)) if flipped >= 1 << 63 else flipped)
        else:
            queries.append(rng.randrange(-(1 << 63), 1 << 63))
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as pooled:
            plan = await pooled.fetch(
                "explain (analyze, buffers) select 1 from photo_analyses where phash is not null and "
                "(((phash >> 48) & 65535) = any($1::bigint[]) or ((phash >> 32) & 65535) = any($1::bigint[]) "
                "or ((phash >> 16) & 65535) = any($1::bigint[]) or (phash & 65535) = any($1::bigint[]))",
                [1, 2, 3],
            )
            steps = [str(r[0]).strip() for r in plan if "Index" in str(r[0]) or "Bitmap" in str(r[0])]
            print("plan: " + " | ".join(steps)[:600])
            medians = []
            for run in range(args.runs):
                times, found = [], 0
                for phash in queries:
                    started = time.perf_counter()
                    hits = await similar_blobs(pooled, phash, max_distance=args.distance, exclude=[])
                    times.append((time.perf_counter() - started) * 1000)
                    found += bool(hits)
                times.sort()
                medians.append(statistics.median(times))
                print(
                    f"run {run + 1}: {len(queries)} lookups (distance <= {args.distance}): median "
                    f"{statistics.median(times):.2f} ms, p95 {times[int(0.95 * len(times))]:.2f} ms, "
                    f"max {times[-1]:.2f} ms; {found} found a match"
                )
    finally:
        await pool.close()
    print(f"median of {args.runs} runs: {statistics.median(medians):.2f} ms per lookup over {args.hashes} hashes")


def lookup(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-lookup-") as scratch, _database(Path(scratch)) as url:
        asyncio.run(_lookup(url, args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode", required=True)
    d = modes.add_parser("drain", help="backlog drain rate of one worker")
    d.add_argument("--photos", type=int, default=200)
    d.add_argument("--size", default="1600x1200", help="photo size, WIDTHxHEIGHT (the example form: max 1600)")
    d.add_argument("--concurrency", type=int, default=1)
    d.add_argument("--nice", type=int, default=0)
    d.add_argument("--runs", type=int, default=3)
    i = modes.add_parser("intake", help="bench/ingest.py throughput without and with a worker draining a backlog")
    i.add_argument("--backlog", type=int, default=900, help="households of 2 photos queued before the runs")
    i.add_argument("--count", type=int, default=1500)
    i.add_argument("--concurrency", type=int, default=8)
    i.add_argument("--nice", type=int, default=19)
    i.add_argument("--idle", action=argparse.BooleanOptionalAction, default=True, help="SCHED_IDLE (the default)")
    i.add_argument("--worker-concurrency", type=int, default=1)
    i.add_argument("--runs", type=int, default=3)
    i.add_argument("--quiet", type=float, default=0.3, help="wait for other work below this many cores")
    i.add_argument("--quiet-wait", type=float, default=60, help="but at most this long (seconds)")
    lk = modes.add_parser("lookup", help="near-duplicate lookup latency over many stored hashes")
    lk.add_argument("--hashes", type=int, default=1_000_000)
    lk.add_argument("--distance", type=int, default=6)
    lk.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if getattr(args, "photos", 0) > 5000 or getattr(args, "hashes", 0) > 5_000_000:
        raise SystemExit("bounded: at most 5000 photos, 5,000,000 hashes")
    {"drain": drain, "intake": intake, "lookup": lookup}[args.mode](args)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    main()
