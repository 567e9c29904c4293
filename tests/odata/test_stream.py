"""The feed's reading: keyset batches that add up to exactly the asked rows, and a stream that gives its database
connection back when the client goes away mid-body."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import TYPE_CHECKING

import asyncpg
import httpx

from service.auth.access import Scope, access_to
from service.auth.models import SYSTEM
from service.odata import queries
from service.odata.filter import TRUE, compile_filter
from service.odata.queries import NEWEST_FIRST, Ordering
from service.projects.service import ensure_default_project
from tests.support.households import ingest, publish_household_form
from tests.support.server import live_server
from tests.support.submission import new_instance_id, submission_xml

if TYPE_CHECKING:
    from pathlib import Path

    from service.db.pool import Connection
    from service.resources import Resources

OLDEST_FIRST = Ordering(terms=(("s.created_at", False), ("s.id", False)))


async def copies(conn: Connection, instance: str, count: int) -> None:
    """`count` more households like `instance` (one second apart), written directly."""
    pairs = await conn.fetch(
        """with s as (
            insert into submissions (form_id, instance_id, form_version_id, created_at, updated_at)
            select form_id, 'copy-' || g, form_version_id, created_at + g * interval '1 second', created_at
            from submissions, generate_series(1, $2) g where instance_id = $1
            returning id, instance_id, form_id, form_version_id)
        insert into submission_versions (submission_id, form_id, instance_id, form_version_id, xml, xml_sha256, answers)
        select s.id, s.form_id, s.instance_id, s.form_version_id, v.xml, v.xml_sha256, v.answers
        from s, submission_versions v where v.instance_id = $1
        returning id, submission_id""",
        instance,
        count,
    )
    await conn.execute(
        """update submissions s set current_version_id = p.version_id
        from unnest($1::bigint[], $2::bigint[]) as p(version_id, submission_id) where s.id = p.submission_id""",
        [p["id"] for p in pairs],
        [p["submission_id"] for p in pairs],
    )


async def test_batches_add_up_to_the_asked_rows(resources: Resources) -> None:
    project = await ensure_default_project(resources, "Batches")
    admin = await access_to(resources, SYSTEM, project)
    await publish_household_form(resources, admin)
    first = new_instance_id()
    await ingest(resources, admin, submission_xml(instance_id=first, photos=(None, None)))
    async with resources.pool.acquire() as conn:
        await copies(conn, first, 9)
        form_id = await conn.fetchval("select form_id from submissions where instance_id = $1", first)
    newest = [f"copy-{i}" for i in range(9, 0, -1)] + [first]
    scope = Scope.whole(project)

    async def read(**options: object) -> list[str]:
        async with resources.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            found = queries.households(conn, scope, form_id, options.pop("condition", TRUE), batch=2, **options)  # type: ignore[arg-type]
            return [h.instance_id async for h in found]

    assert await read() == newest
    assert await read(limit=5) == newest[:5]
    assert await read(limit=5, offset=3) == newest[3:8]
    assert await read(after="copy-7") == newest[3:]
    assert await read(after="copy-7", inclusive=True, limit=3) == newest[2:5]
    assert await read(after="copy-7", ordering=OLDEST_FIRST) == newest[:2][::-1]
    assert await read(ordering=OLDEST_FIRST, limit=4) == newest[::-1][:4]
    updated = Ordering(terms=(("nullif(s.updated_at, s.created_at)", True), ("s.id", True)))
    assert sorted(await read(ordering=updated)) == sorted(newest)  # by offset, still every row once
    assert await read(condition=compile_filter("__id ne 'copy-3'"), limit=4) == ["copy-9", "copy-8", "copy-7", "copy-6"]
    assert await read(after="nope") == []
    assert NEWEST_FIRST.keyset
    assert not updated.keyset


async def test_a_client_that_goes_away_frees_the_connection(
    database_url: str, resources: Resources, tmp_path: Path
) -> None:
    project = await ensure_default_project(resources, "Stream")
    admin = await access_to(resources, SYSTEM, project)
    await publish_household_form(resources, admin)
    first = new_instance_id()
    await ingest(resources, admin, submission_xml(instance_id=first, photos=(None, None)))
    async with resources.pool.acquire() as conn:
        await copies(conn, first, 30_000)  # ≈ 18 MB of rows: more than the sockets buffer
    with live_server(database_url=database_url, tmp_path=tmp_path) as server:
        token = httpx.post(
            f"{server.url}/v1/sessions", json={"email": "admin@example.org", "password": "correct horse battery"}
        ).json()["token"]
        path = f"/v1/projects/{project}/forms/household.svc/Submissions"
        host, port = server.url.removeprefix("http://").split(":")
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # a slow reader: the server must wait
            sock.connect((host, int(port)))
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
            received = b""
            while len(received) < 256 * 1024:
                received += sock.recv(65536)
            assert received.startswith(b"HTTP/1.1 200")
            deadline = time.monotonic() + 10
            holding = 0
            while not (holding := await _streaming(database_url)) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert holding == 1  # the feed holds its snapshot while the client reads
        # The client is gone: the server notices, and the connection goes back to the pool (rolled back).
        deadline = time.monotonic() + 10
        while await _streaming(database_url) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert await _streaming(database_url) == 0
        # And the server still answers.
        again = httpx.get(f"{server.url}{path}?$top=1", headers={"Authorization": f"Bearer {token}"})
        assert again.status_code == 200


async def _streaming(database_url: str) -> int:
    """Sessions inside a transaction (the feed's snapshot), running a statement or waiting between two."""
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval(
            """select count(*) from pg_stat_activity
            where datname = current_database() and xact_start is not null and pid <> pg_backend_pid()"""
        )
        return count
    finally:
        await conn.close()
