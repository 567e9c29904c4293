"""Hostile and broken clients against the real server over real sockets: oversized or endless request heads,
slow heads, trickling or stalled bodies, connection floods. Each is refused or cut early, holds no memory, and
leaves nothing stored (no rows, no spool files)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from contextlib import closing
from typing import TYPE_CHECKING, Any

import psutil
import pytest

from tests.openrosa.conftest import Collect, admin_client, create_project, make_app_user, query
from tests.support.collect import collect_headers, jpeg_bytes, multipart_body, with_device_id
from tests.support.server import live_server
from tests.support.submission import new_instance_id, submission_xml

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.support.server import LiveServer

MiB = 1024 * 1024
PHOTO = "1732460000001.jpg"

# Small limits so that each cut happens within seconds; the defaults (settings.py) are 20 s and 30 s.
SHORT_LIMITS = {
    "HEADER_TIMEOUT_S": "2",
    "BODY_WINDOW_S": "2",
    "BODY_MIN_BYTES_PER_S": "1024",
    "MAX_CONNECTIONS": "30",
}


@pytest.fixture(scope="module")
def server(wire_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("hostile")
    with live_server(database_url=wire_database, tmp_path=tmp, env=SHORT_LIMITS) as running:
        yield running


def server_rss(server: LiveServer) -> int:
    """Resident memory of the server's whole process tree (uvicorn and any workers), in bytes."""
    total = 0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(server.process.pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
    return total


def connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=10)


NO_ANSWER = -1


def read_status(sock: socket.socket, timeout: float) -> int | None:
    """The response's status code; None when the server closed (or reset) the connection without one;
    NO_ANSWER when the connection is still open after `timeout` seconds."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        if not data:
            return NO_ANSWER
    except (ConnectionResetError, BrokenPipeError):
        pass
    if not data.startswith(b"HTTP/1.1 "):
        return None
    return int(data.split(b" ", 2)[1])


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def submission_request(user: dict[str, Any], project: int, body: bytes, content_type: str) -> bytes:
    """The request head Collect sends for a submission POST, with the Content-Length of `body`."""
    path = with_device_id(f"/v1/key/{user['token']}/projects/{project}/submission")
    headers = collect_headers(**{"Content-Type": content_type, "Content-Length": str(len(body))})
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}\r\n".encode()


def stored(database_url: str, instance: str) -> list[dict[str, Any]]:
    return query(database_url, "select id from submissions where instance_id = $1", instance)


class Trickle:
    """Sockets that each send a byte every half second, from one background thread, until the block ends."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Trickle:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(10)
        for sock in self.sockets:
            sock.close()

    def _run(self) -> None:
        while not self.stopped.wait(0.5):
            for sock in list(self.sockets):
                with contextlib.suppress(OSError):
                    sock.send(b"x")


def test_huge_header_line_gets_431_without_being_read(server: LiveServer) -> None:
    with connect(server) as sock:  # warm up: the first request loads code, which is not what we measure
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_status(sock, 10) == 200
    before = server_rss(server)
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * MiB + b"\r\n\r\n")
        assert read_status(sock, 10) == 431
    # 48 MiB in chunks: the server stops reading long before the end, so the sender hits a closed connection.
    sent = 0
    started = time.monotonic()
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        chunk = b"a" * (64 * 1024)
        with contextlib.suppress(OSError):
            while sent < 48 * MiB:
                sock.sendall(chunk)
                sent += len(chunk)
        assert read_status(sock, 10) in {431, None}
    assert sent < 16 * MiB
    assert time.monotonic() - started < 10
    assert server_rss(server) - before < 5 * MiB


def test_too_many_header_lines_get_431(server: LiveServer) -> None:
    headers = b"".join(b"X-Field-%d: v\r\n" % i for i in range(150))
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        assert read_status(sock, 10) == 431


def test_endless_url_gets_414(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /healthz?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_status(sock, 10) == 414


def test_slow_header_is_cut_after_the_header_timeout(server: LiveServer) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"
    started = time.monotonic()
    status: int | None = NO_ANSWER
    with connect(server) as sock:
        # A byte every 2 s: the head would take minutes. HEADER_TIMEOUT_S is 2; give up waiting after 12 s.
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                status = None
                break
            status = read_status(sock, 2)
            if status != NO_ANSWER or time.monotonic() - started > 12:
                break
    assert status in {408, None}, status


def test_trickling_body_is_cut_and_nothing_is_kept(
    server: LiveServer, wire_database: str, app_user: dict[str, Any], project: int
) -> None:
    instance = new_instance_id()
    body, content_type = multipart_body(submission_xml(instance_id=instance), [(PHOTO, jpeg_bytes(seed=41))])
    started = time.monotonic()
    with connect(server) as sock:
        # The XML part and the start of the photo arrive at once; the rest comes at 20 bytes/s.
        sock.sendall(submission_request(app_user, project, body, content_type) + body[:4000])
        assert wait_until(lambda: len(server.spool_files()) == 1, 10)
        status: int | None = NO_ANSWER
        for offset in range(4000, len(body), 10):
            try:
                sock.sendall(body[offset : offset + 10])
            except OSError:
                status = None
                break
            status = read_status(sock, 0.5)
            if status != NO_ANSWER or time.monotonic() - started > 20:
                break
        assert status in {408, None}, status
    assert wait_until(lambda: server.spool_files() == [], 10)
    assert stored(wire_database, instance) == []
    # The access log shows what the client was told, and the guard says why.
    assert wait_until(lambda: "status=408" in server.log(), 5)
    assert "the body arrived below the minimum rate" in server.log()


def test_slow_phone_above_the_minimum_rate_is_served(
    server: LiveServer, wire_database: str, app_user: dict[str, Any], project: int
) -> None:
    """About 4 KB/s with a pause (a 2G phone in a handover) is well above 1 KB/s: never cut."""
    instance = new_instance_id()
    body, content_type = multipart_body(submission_xml(instance_id=instance), [(PHOTO, jpeg_bytes(400, 300))])
    with connect(server) as sock:
        sock.sendall(submission_request(app_user, project, body, content_type))
        for offset in range(0, len(body), 400):
            if offset == 4000:
                time.sleep(1)  # half a window without a byte
            sock.sendall(body[offset : offset + 400])
            time.sleep(0.1)
        assert read_status(sock, 10) == 201
    assert len(stored(wire_database, instance)) == 1


def test_body_shorter_than_content_length_then_stall_is_cut(
    server: LiveServer, wire_database: str, app_user: dict[str, Any], project: int
) -> None:
    instance = new_instance_id()
    body, content_type = multipart_body(submission_xml(instance_id=instance), [(PHOTO, jpeg_bytes(1600, 1200))])
    with connect(server) as sock:
        sock.sendall(submission_request(app_user, project, body, content_type) + body[: len(body) // 2])
        assert wait_until(lambda: len(server.spool_files()) == 1, 10)
        assert read_status(sock, 15) in {408, None}
    assert wait_until(lambda: server.spool_files() == [], 10)
    assert stored(wire_database, instance) == []


def test_connections_past_the_cap_get_503(server: LiveServer) -> None:
    idle = [connect(server) for _ in range(40)]  # MAX_CONNECTIONS is 30
    try:
        with connect(server) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_status(sock, 10) == 503
    finally:
        for sock in idle:
            sock.close()
    # Once they are gone, requests are served again.
    assert wait_until(lambda: _healthz(server) == 200, 10)


def _healthz(server: LiveServer) -> int | None:
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        return read_status(sock, 5)


class RssPeak:
    """The server's peak RSS, sampled every 50 ms from a background thread while the block runs."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.peak = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssPeak:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(5)

    def _run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, server_rss(self.server))
            time.sleep(0.05)


def _oversized_header(server: LiveServer, sent: list[int], index: int) -> None:
    """A client sending a 24 MiB header line, as fast as the server lets it."""
    with connect(server) as sock, contextlib.suppress(OSError):
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        chunk = b"a" * (64 * 1024)
        for _ in range(24 * MiB // len(chunk)):
            sock.sendall(chunk)
            sent[index] += len(chunk)


@pytest.mark.slow
def test_phone_is_served_while_150_connections_trickle_and_8_send_huge_heads(
    wire_database: str, tmp_path: Path
) -> None:
    # Default limits: the trickling bodies are not cut during the test, so they hold their connections.
    with live_server(database_url=wire_database, tmp_path=tmp_path) as server:
        with closing(admin_client(server.url)) as admin:
            project = create_project(admin)
            user = make_app_user(admin, project, "Phone", ["household"])
        photo = jpeg_bytes(1600, 1200, seed=43)
        with Collect(user["serverUrl"]) as phone:  # warm-up, so the code paths are loaded before measuring
            assert phone.submit(submission_xml(), [(PHOTO, photo)]).status_code == 201
        before = server_rss(server)
        trickled = [new_instance_id() for _ in range(150)]
        instance = new_instance_id()
        with RssPeak(server) as peak, Trickle() as trickle:
            for trickling in trickled:
                body, content_type = multipart_body(submission_xml(instance_id=trickling), [(PHOTO, photo)])
                sock = connect(server)
                trickle.sockets.append(sock)
                sock.sendall(submission_request(user, project, body, content_type) + body[:4000])
            # Every trickling upload is inside the app, a spool file open, before the phone sends.
            assert wait_until(lambda: len(server.spool_files()) == 150, 20)
            sent = [0] * 8
            floods = [threading.Thread(target=_oversized_header, args=(server, sent, i)) for i in range(8)]
            for flood in floods:
                flood.start()
            with Collect(user["serverUrl"]) as phone:
                started = time.monotonic()
                assert phone.head_submission().status_code == 204
                response = phone.submit(submission_xml(instance_id=instance), [(PHOTO, photo)])
                elapsed = time.monotonic() - started
            for flood in floods:
                flood.join(20)
            assert response.status_code == 201, response.text
            assert elapsed < 1.0
            # Each flood was stopped early: what it got out is the server's first reads plus the kernel's buffers.
            assert max(sent) < 12 * MiB, sent
            assert len(server.spool_files()) == 150  # the trickles are still open; nothing has cut them
        grown = peak.peak - before
        assert grown < 50 * MiB, f"server memory grew by {grown / MiB:.0f} MB"
        assert len(stored(wire_database, instance)) == 1
        # The trickling clients went away: their spool files are removed and nothing of theirs is stored.
        assert wait_until(lambda: server.spool_files() == [], 15)
        rows = query(wire_database, "select count(*) as n from submissions where instance_id = any($1)", trickled)
        assert rows == [{"n": 0}]
