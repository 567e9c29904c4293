"""Load generator: Collect-shaped submissions against a server on loopback; prints what it measured.

    .venv/bin/python bench/ingest.py                          # one 200 KB photo, concurrency 8, 2000 submissions
    .venv/bin/python bench/ingest.py --photos 2 --photo-kb 1024 --count 1000
    .venv/bin/python bench/ingest.py memory --mb 20           # extra server RSS while receiving one 20 MB upload
    .venv/bin/python bench/ingest.py collect --count 1000     # households as Collect sends them (see below)

By default it starts its own server (`survey serve`, WORKERS=2, embedded PostgreSQL or DATABASE_URL, local media
store in a temporary folder), sets up a project, the test form and an app user, runs the load, then stops
everything. `--url/--token/--project` point it at a running server instead (loopback only).

Every request is a multipart POST as OkHttp builds it: the XML part first, then each photo, with a fresh
instanceID and photos made unique per request (a JPEG comment after SOI), so nothing de-duplicates. Client:
raw asyncio streams on keep-alive connections, one per concurrency slot, to leave the CPU to the server.
Figures: submissions/s, latency p50/p90/p99/max, server CPU-ms per submission (uvicorn processes), PostgreSQL
CPU-ms per submission, peak server RSS.

`collect` mode sends what one household costs a phone running Collect: a HEAD to /submission first, then one
POST with the XML, a 500 KB photo, a 5 KB second JPEG, a 30 KB signature PNG and a 2 KB audit log (`audit.csv`),
each made unique per household; its form declares those binary fields (image, image, signature, audit).
Figures are per household (HEAD + POST).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path

import httpx
import psutil
from openpyxl import Workbook
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ADMIN = {"email": "bench@example.org", "password": "bench password 1"}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _form_xlsx(photos: int) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(["type", "name", "label", "parameters"])
    for row in (
        ["text", "hh_name", "Head", None],
        ["integer", "hh_size", "Size", None],
        ["geopoint", "gps", "GPS", None],
    ):
        sheet.append(row)
    for i in range(max(photos, 1)):
        sheet.append(["image", f"photo_{i}", f"Photo {i}", "max-pixels=1600"])
    settings = workbook.create_sheet("settings")
    settings.append(["form_id", "version"])
    settings.append(["bench", "1"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _collect_form_xlsx() -> bytes:
    """The household form Collect fills in: answers, two photos, a signature and the audit log."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(["type", "name", "label", "parameters", "appearance"])
    for row in (
        ["audit", "audit", None, None, None],
        ["text", "hh_name", "Head", None, None],
        ["integer", "hh_size", "Size", None, None],
        ["geopoint", "gps", "GPS", None, None],
        ["image", "photo_house", "House", "max-pixels=1600", None],
        ["image", "photo_id", "ID card", "max-pixels=1600", None],
        ["image", "signature", "Signature", None, "signature"],
    ):
        sheet.append(row)
    settings = workbook.create_sheet("settings")
    settings.append(["form_id", "version"])
    settings.append(["household", "1"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def _signature_png(kb: int) -> bytes:
    """A real PNG of about `kb` KiB (noise does not compress), padded to the size with a private chunk."""
    side = int((kb * 1024) ** 0.5 * 0.9)
    buffer = io.BytesIO()
    Image.effect_noise((side, side), 64).save(buffer, format="PNG")
    png = buffer.getvalue()
    missing = kb * 1024 - len(png) - 12
    padding = _png_chunk(b"pdDg", os.urandom(missing)) if missing > 0 else b""
    return png[:33] + padding + png[33:]  # after the signature and IHDR


def _audit_csv(kb: int) -> bytes:
    lines = ["event,node,start,end"]
    at = 1732460000000
    while sum(len(line) + 1 for line in lines) < kb * 1024 - 64:
        lines.append(f"question,/data/hh_name,{at},{at + 4000}")
        at += 5000
    return ("\n".join(lines) + "\n").encode()


def _photo(kb: int) -> bytes:
    """A real JPEG of exactly `kb` KiB: a noisy image just under the size, padded with comment segments
    of random bytes (incompressible, like the entropy-coded data of a phone photo)."""
    target = kb * 1024
    side, jpeg = 16, b""
    while True:
        image = Image.effect_noise((side, side), 64).convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        if buffer.tell() > target - 64 or side > 8000:
            break
        jpeg = buffer.getvalue()
        side = int(side * 1.1)
    padding = []
    missing = target - len(jpeg)
    while missing > 4:
        size = min(missing - 4, 65533)
        padding.append(b"\xff\xfe" + (size + 2).to_bytes(2, "big") + os.urandom(size))
        missing -= size + 4
    return jpeg[:2] + b"".join(padding) + jpeg[2:]


class Target:
    def __init__(self, url: str, token: str, project: int) -> None:
        parts = httpx.URL(url)
        if parts.host not in {"127.0.0.1", "localhost", "::1"}:
            raise SystemExit("bench/ingest.py only talks to loopback")
        self.host = parts.host
        self.port = parts.port or 80
        self.path = f"/v1/key/{token}/projects/{project}/submission?deviceID=collect%3Abench000000000000"
        self.head = (
            f"Host: {self.host}:{self.port}\r\nUser-Agent: org.odk.collect.android/v2025.3.1 bench\r\n"
            "X-OpenRosa-Version: 1.0\r\n"
        )


class Server:
    """`survey serve` in a child process, with its own data and media folders."""

    def __init__(self, workers: int) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="survey-bench-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # `make run`'s settings unless the caller's environment says otherwise (LOG_LEVEL, SERVE_WORKERS, …): the
        # figures are meant for the server as people run it.
        env = {
            "LOG_LEVEL": "INFO",
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WORKERS": str(workers),
            "DATA_DIR": str(self.directory / "data"),
            "MEDIA_ROOT": str(self.directory / "media"),
            "LOAD_EXAMPLE_FORM": "false",
            "ADMIN_EMAIL": ADMIN["email"],
            "ADMIN_PASSWORD": ADMIN["password"],
        }
        self.log = (self.directory / "server.log").open("wb")
        self.process = psutil.Popen(
            [str(ROOT / ".venv/bin/survey"), "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            if self.process.poll() is not None:
                raise SystemExit((self.directory / "server.log").read_text())
            time.sleep(0.2)
        raise SystemExit("server did not start")

    def stop(self) -> None:
        self.process.send_signal(2)
        try:
            self.process.wait(30)
        except psutil.TimeoutExpired:
            for child in self.process.children(recursive=True):
                child.kill()
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _setup(url: str, form_xlsx: bytes, form_id: str) -> tuple[str, int]:
    with httpx.Client(base_url=url, timeout=60) as client:
        token = client.post("/v1/sessions", json=ADMIN).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        project = client.post("/v1/projects", json={"name": "Bench"}).json()["id"]
        form = client.post(
            f"/v1/projects/{project}/forms?publish=true&ignoreWarnings=true",
            content=form_xlsx,
            headers={"Content-Type": XLSX},
        )
        form.raise_for_status()
        user = client.post(f"/v1/projects/{project}/app-users", json={"displayName": "bench", "forms": [form_id]})
        return user.json()["token"], project


def _server_processes(server_pid: int) -> list[psutil.Process]:
    root = psutil.Process(server_pid)
    return [root, *root.children(recursive=True)]


def _is_postgres(process: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        return process.name() in {"postgres", "postgres:"} or process.name().startswith("postgres")
    return False


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


class Sampler(threading.Thread):
    """Peak RSS of the server's own processes (PostgreSQL excluded), sampled every 50 ms."""

    def __init__(self, processes: list[psutil.Process]) -> None:
        super().__init__(daemon=True)
        self.processes = processes
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            rss = 0
            for process in self.processes:
                with contextlib.suppress(psutil.Error):
                    rss += process.memory_info().rss
            self.peak = max(self.peak, rss)
            time.sleep(0.05)


def _part_head(boundary: str, name: str, content_type: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()


def _xml_part(boundary: str, xml: bytes) -> list[bytes | memoryview]:
    return [
        f'--{boundary}\r\nContent-Disposition: form-data; name="xml_submission_file"; filename="bench.xml"\r\n'
        f"Content-Type: text/xml\r\n\r\n".encode(),
        xml,
        b"\r\n",
    ]


def _unique_jpeg(photo: bytes, marker: bytes) -> list[bytes | memoryview]:
    # A COM segment right after SOI makes every photo's bytes (and hash) unique.
    return [photo[:2], b"\xff\xfe\x00\x12" + marker, memoryview(photo)[2:]]


class Photos:
    """The default shape: one POST with the XML and N photos."""

    head_first = False

    def __init__(self, photos: list[bytes]) -> None:
        self.photos = photos
        self.size = sum(len(p) for p in photos)

    def body(self) -> tuple[bytes, list[bytes | memoryview]]:
        boundary = uuid.uuid4().hex
        instance = f"uuid:{uuid.uuid4()}"
        names = [f"{1732460000000 + i}.jpg" for i in range(len(self.photos))]
        photo_xml = "".join(f"<photo_{i}>{name}</photo_{i}>" for i, name in enumerate(names))
        xml = (
            f'<data id="bench" version="1" xmlns:orx="http://openrosa.org/xforms"><hh_name>Nguyễn Văn A</hh_name>'
            f"<hh_size>4</hh_size><gps>16.2154 107.2931 560.0 4.5</gps>{photo_xml}"
            f"<meta><instanceID>{instance}</instanceID></meta></data>"
        ).encode()
        parts = _xml_part(boundary, xml)
        marker = uuid.uuid4().bytes
        for name, photo in zip(names, self.photos, strict=True):
            parts += [_part_head(boundary, name, "image/jpeg"), *_unique_jpeg(photo, marker), b"\r\n"]
        parts.append(f"--{boundary}--\r\n".encode())
        return f"multipart/form-data; boundary={boundary}".encode(), parts


class Household:
    """The `collect` shape: HEAD first, then the XML, a 500 KB photo, a 5 KB photo, a 30 KB signature PNG and a
    2 KB audit log, in the order Collect lists the instance folder."""

    head_first = True

    def __init__(self) -> None:
        self.photo, self.small = _photo(500), _photo(5)
        self.signature, self.audit = _signature_png(30), _audit_csv(2)
        self.size = len(self.photo) + len(self.small) + len(self.signature) + len(self.audit)

    def body(self) -> tuple[bytes, list[bytes | memoryview]]:
        boundary = uuid.uuid4().hex
        marker = uuid.uuid4().bytes
        house, card, signature = "1732460000000.jpg", "1732460000001.jpg", "1732460000002.png"
        xml = (
            f'<data id="household" version="1" xmlns:orx="http://openrosa.org/xforms">'
            f"<hh_name>Nguyễn Văn A</hh_name><hh_size>4</hh_size><gps>16.2154 107.2931 560.0 4.5</gps>"
            f"<photo_house>{house}</photo_house><photo_id>{card}</photo_id><signature>{signature}</signature>"
            f"<meta><audit>audit.csv</audit><instanceID>uuid:{uuid.UUID(bytes=marker)}</instanceID></meta></data>"
        ).encode()
        parts = _xml_part(boundary, xml)
        parts += [_part_head(boundary, house, "image/jpeg"), *_unique_jpeg(self.photo, marker), b"\r\n"]
        parts += [_part_head(boundary, card, "image/jpeg"), *_unique_jpeg(self.small, marker), b"\r\n"]
        png = self.signature
        parts += [_part_head(boundary, signature, "image/png"), png[:33], _png_chunk(b"bnCh", marker), png[33:]]
        parts += [b"\r\n", _part_head(boundary, "audit.csv", "text/comma-separated-values"), self.audit]
        parts += [f"form exit,,{marker.hex()},\n\r\n".encode(), f"--{boundary}--\r\n".encode()]
        return f"multipart/form-data; boundary={boundary}".encode(), parts


Shape = Photos | Household


async def _worker(target: Target, shape: Shape, queue: asyncio.Queue[int], latencies: list[float]) -> int:
    reader, writer = await asyncio.open_connection(target.host, target.port)
    failures = 0
    try:
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return failures
            content_type, parts = shape.body()
            length = sum(len(p) for p in parts)
            head = (
                f"POST {target.path} HTTP/1.1\r\n{target.head}"
                f"Content-Type: {content_type.decode()}\r\nContent-Length: {length}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            if shape.head_first:
                writer.write(f"HEAD {target.path} HTTP/1.1\r\n{target.head}\r\n".encode())
                if await _read_response(reader, head=True) != 204:
                    failures += 1
            writer.write(head)
            writer.writelines(parts)
            await writer.drain()
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status != 201:
                failures += 1
    finally:
        writer.close()


async def _read_response(reader: asyncio.StreamReader, *, head: bool = False) -> int:
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while (line := await reader.readline()) not in {b"\r\n", b""}:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if not head:
        await reader.readexactly(length)
    return status


async def _load(target: Target, shape: Shape, count: int, concurrency: int) -> tuple[list[float], int, float]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    latencies: list[float] = []
    started = time.perf_counter()
    failures = await asyncio.gather(*(_worker(target, shape, queue, latencies) for _ in range(concurrency)))
    return latencies, sum(failures), time.perf_counter() - started


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load(args: argparse.Namespace) -> None:
    collect = args.mode == "collect"
    shape: Shape = Household() if collect else Photos([_photo(args.photo_kb) for _ in range(args.photos)])
    unit = "household" if collect else "submission"
    server = None if args.url else Server(args.workers)
    try:
        url = args.url or server.url  # type: ignore[union-attr]
        form = (_collect_form_xlsx(), "household") if collect else (_form_xlsx(args.photos), "bench")
        token, project = (args.token, args.project) if args.url else _setup(url, *form)
        target = Target(url, token, project)
        server_pid = args.server_pid or (server.process.pid if server else None)
        processes = [p for p in _server_processes(server_pid) if not _is_postgres(p)] if server_pid else []
        asyncio.run(_load(target, shape, min(200, args.count), args.concurrency))  # warm-up
        # After the warm-up, so the pool's backends exist and are counted.
        postgres = [p for p in psutil.process_iter() if _is_postgres(p)]
        for process in processes:
            with contextlib.suppress(psutil.Error):
                rss = process.memory_info().rss / 1024 / 1024
                print(f"  server process {process.pid} ({rss:.0f} MB): {' '.join(process.cmdline())[:80]}")
        sampler = Sampler(processes)
        sampler.start()
        cpu_before, pg_before, machine_before = _cpu(processes), _cpu(postgres), psutil.cpu_times()
        latencies, failures, wall = asyncio.run(_load(target, shape, args.count, args.concurrency))
        cpu_after, pg_after, machine_after = _cpu(processes), _cpu(postgres), psutil.cpu_times()
        sampler.stopped.set()
        sampler.join()
        busy = sum(machine_after) - sum(machine_before) - (machine_after.idle - machine_before.idle)
        size_kb = shape.size / 1024
        if collect:
            print(f"shape: HEAD + POST of XML and 4 files ({size_kb:.0f} KB), concurrency {args.concurrency}")
        else:
            per_photo = size_kb / max(args.photos, 1)
            print(f"shape: {args.photos} photo(s) of {per_photo:.0f} KB, concurrency {args.concurrency}")
        print(f"{unit}s: {args.count} in {wall:.2f} s, failures {failures}")
        print(f"throughput: {args.count / wall:.1f} {unit}s/s ({args.count * size_kb / 1024 / wall:.1f} MB/s)")
        print(
            f"latency ms{' (HEAD + POST)' if collect else ''}: p50 {_percentile(latencies, 0.5) * 1000:.1f}"
            f"  p90 {_percentile(latencies, 0.9) * 1000:.1f}  p99 {_percentile(latencies, 0.99) * 1000:.1f}"
            f"  max {max(latencies) * 1000:.1f}"
        )
        if processes:
            print(f"server CPU-ms per {unit}: {(cpu_after - cpu_before) * 1000 / args.count:.2f}")
            print(f"peak server RSS: {sampler.peak / 1024 / 1024:.0f} MB ({len(processes)} processes)")
        print(f"PostgreSQL CPU-ms per {unit}: {(pg_after - pg_before) * 1000 / args.count:.2f}")
        print(f"machine busy: {busy / wall:.2f} of {psutil.cpu_count()} cores")
    finally:
        if server is not None:
            server.stop()


def memory(args: argparse.Namespace) -> None:
    """Extra peak RSS of the server while one big upload streams through it."""
    server = Server(workers=1)
    try:
        token, project = _setup(server.url, _form_xlsx(1), "bench")
        target = Target(server.url, token, project)
        worker = next(p for p in _server_processes(server.process.pid) if not _is_postgres(p))
        photo = _photo(200) + b"\0" * (args.mb * 1024 * 1024)
        asyncio.run(_load(target, Photos([_photo(200)]), 5, 1))
        status_path = Path(f"/proc/{worker.pid}/status")
        Path(f"/proc/{worker.pid}/clear_refs").write_text("5")
        before = worker.memory_info().rss
        asyncio.run(_load(target, Photos([photo]), 1, 1))
        peak_kb = next(
            int(line.split()[1]) for line in status_path.read_text().splitlines() if line.startswith("VmHWM")
        )
        print(f"one {args.mb} MB upload: server RSS {before / 1024 / 1024:.0f} MB before, peak {peak_kb / 1024:.0f} MB")
        print(f"extra memory for the upload: {peak_kb / 1024 - before / 1024 / 1024:.1f} MB")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", choices=["load", "collect", "memory"], default="load")
    parser.add_argument("--count", type=int, default=2000, help="submissions (households) to send (bounded)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--photos", type=int, default=1, help="load mode: photos per submission")
    parser.add_argument("--photo-kb", type=int, default=200, help="load mode: size of each photo")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers when the bench starts the server")
    parser.add_argument("--url", help="a running server (loopback), instead of starting one")
    parser.add_argument("--token", help="app-user token for --url")
    parser.add_argument("--project", type=int, default=1)
    parser.add_argument("--server-pid", type=int, help="pid of the running server, for CPU and RSS figures")
    parser.add_argument("--mb", type=int, default=20, help="memory mode: size of the upload")
    args = parser.parse_args()
    if args.count > 100_000:
        raise SystemExit("--count is capped at 100000")
    (memory if args.mode == "memory" else load)(args)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    main()
