"""A full disk is said to be a full disk: 507 naming the media store, never "the database is unavailable"; new uploads
are refused while less than MEDIA_MIN_FREE_BYTES would stay free; /readyz reports the free space; nothing is left
behind. Runs on a real, small tmpfs (mounting needs root, as the CI machine runs the suite)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from typing import TYPE_CHECKING

import httpx
import pytest

from service.media.local import LocalStore
from service.media.store import StoreFull
from tests.openrosa.conftest import admin_client, create_project, make_app_user, query
from tests.support.collect import collect_headers, jpeg_bytes, multipart_body, with_device_id
from tests.support.db import create_database, drop_database, with_database
from tests.support.server import live_server
from tests.support.submission import new_instance_id, submission_xml

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

MIB = 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs of its own: a disk that really fills up."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_spool_that_fills_the_disk_is_store_full_and_leaves_nothing(small_disk: Path) -> None:
    store = LocalStore(small_disk / "media")
    spool = store.spool(limit=100 * MIB)
    with pytest.raises(StoreFull):
        for _ in range(20):
            spool.write(b"\xff" * MIB)
    spool.discard()
    assert list(store.spool_dir.iterdir()) == []
    await store.close()


@pytest.fixture
def fresh_database(pg_server_url: str, template_db: str) -> Iterator[str]:
    name = asyncio.run(create_database(pg_server_url, template_db))
    yield with_database(pg_server_url, name)
    asyncio.run(drop_database(pg_server_url, name))


def test_phones_hear_the_media_store_is_full(fresh_database: str, tmp_path: Path, small_disk: Path) -> None:
    env = {"MEDIA_ROOT": str(small_disk / "media"), "MEDIA_MIN_FREE_BYTES": str(2 * MIB)}
    with live_server(database_url=fresh_database, tmp_path=tmp_path, env=env) as server:
        with contextlib.closing(admin_client(server.url)) as admin:
            project = create_project(admin)
            phone = make_app_user(admin, project, "Phone", ["household"])
        url = with_device_id(f"{phone['serverUrl']}/submission")

        def send(photo: bytes, *, chunked: bool = False) -> httpx.Response:
            body, content_type = multipart_body(submission_xml(instance_id=new_instance_id()), [("1732460000001.jpg", photo)])
            headers = collect_headers(**{"Content-Type": content_type})
            content = iter([body]) if chunked else body  # an iterator is sent without Content-Length
            return httpx.post(url, content=content, headers=headers, timeout=30)

        ready = httpx.get(f"{server.url}/readyz", timeout=10).json()
        assert ready["media"] == "ok"
        assert 0 < ready["mediaFreeBytes"] <= 8 * MIB
        assert send(jpeg_bytes(seed=1)).status_code == 201

        # An upload that would leave less than the minimum free is refused before a byte of it is read.
        big = jpeg_bytes(2400, 1800, seed=2) + b"\0" * (9 * MIB)
        refused = send(big)
        assert refused.status_code == 507
        assert b"media store is out of space" in refused.content
        assert b"database" not in refused.content

        # Chunked (no Content-Length): the disk really fills while receiving; still 507, and nothing is left.
        filled = send(big, chunked=True)
        assert filled.status_code == 507, filled.text
        assert list((small_disk / "media" / ".spool").glob("*.part")) == []

        # Nearly full: not ready, and every upload is refused until space is freed.
        ballast = small_disk / "ballast"
        free = httpx.get(f"{server.url}/readyz", timeout=10).json()["mediaFreeBytes"]
        ballast.write_bytes(b"\0" * (free - MIB))
        low = httpx.get(f"{server.url}/readyz", timeout=10)
        assert low.status_code == 503
        assert low.json()["media"].startswith("nearly full")
        assert send(jpeg_bytes(seed=3)).status_code == 507
        ballast.unlink()
        assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
        assert send(jpeg_bytes(seed=4)).status_code == 201
        [count] = query(fresh_database, "select count(*) from submissions")
        assert count["count"] == 2
