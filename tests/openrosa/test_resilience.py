"""Nothing acknowledged is ever lost, nothing is duplicated: broken uploads, a crash before commit, and
PostgreSQL or S3 going away (503 + Retry-After, so Collect keeps the household and retries)."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from contextlib import closing
from typing import TYPE_CHECKING

import pytest

from service.media.store import blob_key
from tests.openrosa.conftest import Collect, admin_client, create_project, make_app_user, query
from tests.support.collect import collect_headers, jpeg_bytes, multipart_body, with_device_id
from tests.support.db import create_database, drop_database, with_database
from tests.support.proxy import TcpProxy, proxied_url
from tests.support.s3 import MotoServer
from tests.support.server import free_port, live_server
from tests.support.submission import new_instance_id, submission_xml

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

FRONT, ROOF = "1732460000001.jpg", "1732460000002.jpg"


@pytest.fixture
def fresh_database(pg_server_url: str, template_db: str) -> Iterator[str]:
    name = asyncio.run(create_database(pg_server_url, template_db))
    yield with_database(pg_server_url, name)
    asyncio.run(drop_database(pg_server_url, name))


def submissions(database_url: str, instance_id: str) -> list[dict[str, object]]:
    return query(
        database_url,
        "select id, attachments_expected, attachments_present from submissions where instance_id = $1",
        instance_id,
    )


def key_url(server_url: str, token: str, project: int) -> str:
    return f"{server_url}/v1/key/{token}/projects/{project}"


def test_upload_broken_mid_body_then_retry(fresh_database: str, tmp_path: Path) -> None:
    with live_server(database_url=fresh_database, tmp_path=tmp_path) as server:
        with closing(admin_client(server.url)) as admin:
            project = create_project(admin)
            user = make_app_user(admin, project, "Phone", ["household"])
        instance = new_instance_id()
        xml = submission_xml(instance_id=instance)
        photos = [(FRONT, jpeg_bytes(2000, 1500, seed=21)), (ROOF, jpeg_bytes(2000, 1500, seed=22))]
        body, content_type = multipart_body(xml, photos)
        path = with_device_id(f"/v1/key/{user['token']}/projects/{project}/submission")
        headers = collect_headers(**{"Content-Type": content_type, "Content-Length": str(len(body))})
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        # 3G drops in the middle of the second photo.
        with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as raw:
            raw.sendall(head.encode() + b"\r\n" + body[: len(body) * 3 // 4])
        deadline = time.monotonic() + 5
        while server.spool_files() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.spool_files() == []
        assert submissions(fresh_database, instance) == []
        with Collect(key_url(server.url, user["token"], project)) as phone:
            assert phone.submit(xml, photos).status_code == 201
        [stored] = submissions(fresh_database, instance)
        assert (stored["attachments_expected"], stored["attachments_present"]) == (2, 2)


def test_crash_after_files_are_written_before_commit(fresh_database: str, tmp_path: Path) -> None:
    instance = new_instance_id()
    xml = submission_xml(instance_id=instance)
    photos = [(FRONT, jpeg_bytes(seed=23)), (ROOF, jpeg_bytes(seed=24))]
    port = free_port()
    with live_server(database_url=fresh_database, tmp_path=tmp_path, port=port) as server:
        with closing(admin_client(server.url)) as admin:
            project = create_project(admin)
            user = make_app_user(admin, project, "Phone", ["household"])
        # An earlier household is acknowledged before the crash; it must survive it.
        earlier = new_instance_id()
        with Collect(key_url(server.url, user["token"], project)) as phone:
            assert phone.submit(submission_xml(instance_id=earlier), photos[:1]).status_code == 201
    crashing = {"SURVEY_FAULT_POINT": "submission.before_commit"}
    with live_server(database_url=fresh_database, tmp_path=tmp_path, port=port, env=crashing) as server:
        with Collect(key_url(server.url, user["token"], project)) as phone, pytest.raises(Exception):  # noqa: B017, PT011
            phone.submit(xml, photos)
        assert server.wait_exit() == 86
    assert submissions(fresh_database, instance) == []
    # Both photos reached the store before the crash; no row points at them yet.
    keys = [blob_key(hashlib.sha256(data).hexdigest()) for _, data in photos]
    assert all((tmp_path / "media" / key).is_file() for key in keys)
    before = len(list((tmp_path / "media" / "blobs").glob("*/*/*")))
    with (
        live_server(database_url=fresh_database, tmp_path=tmp_path, port=port) as server,
        Collect(key_url(server.url, user["token"], project)) as phone,
    ):
        assert phone.submit(xml, photos).status_code == 201
        assert phone.submit(xml, photos).status_code == 201
    [stored] = submissions(fresh_database, instance)
    assert (stored["attachments_expected"], stored["attachments_present"]) == (2, 2)
    assert len(submissions(fresh_database, earlier)) == 1
    assert len(list((tmp_path / "media" / "blobs").glob("*/*/*"))) == before  # the retry stored nothing twice


def test_database_down_is_503_with_retry_after(fresh_database: str, tmp_path: Path) -> None:
    proxy = TcpProxy(fresh_database, free_port())
    proxy.start()
    try:
        url = proxied_url(fresh_database, proxy.port)
        with live_server(database_url=url, tmp_path=tmp_path) as server:
            with closing(admin_client(server.url)) as admin:
                project = create_project(admin)
                user = make_app_user(admin, project, "Phone", ["household"])
            instance = new_instance_id()
            xml = submission_xml(instance_id=instance)
            photos = [(FRONT, jpeg_bytes(seed=25))]
            with Collect(key_url(server.url, user["token"], project)) as phone:
                proxy.stop()
                for _ in range(2):  # the first request finds dead pooled connections, the second none at all
                    down = phone.submit(xml, photos)
                    assert down.status_code == 503, down.text
                    assert int(down.headers["retry-after"]) > 0
                    assert b"nothing you sent was lost" in down.content
                listing = phone.get(f"{phone.server_url}/formList")
                assert listing.status_code == 503
                ready = phone.http.get(f"{server.url}/readyz")
                assert ready.status_code == 503
                assert server.spool_files() == []
                proxy.start()
                assert phone.submit(xml, photos).status_code == 201
            assert len(submissions(fresh_database, instance)) == 1
    finally:
        proxy.close()


@pytest.mark.s3
def test_s3_backend_stores_photos_and_503_when_s3_is_down(fresh_database: str, tmp_path: Path) -> None:
    moto = MotoServer().start()
    try:
        moto.create_bucket("survey-test")
        with live_server(database_url=fresh_database, tmp_path=tmp_path, env=moto.env("survey-test")) as server:
            with closing(admin_client(server.url)) as admin:
                project = create_project(admin)
                user = make_app_user(admin, project, "Phone", ["household", "with_media"])
            with Collect(key_url(server.url, user["token"], project)) as phone:
                stored = new_instance_id()
                photos = [(FRONT, jpeg_bytes(seed=26)), (ROOF, jpeg_bytes(seed=27))]
                assert phone.submit(submission_xml(instance_id=stored), photos).status_code == 201
                media = phone.get(f"{phone.server_url}/forms/with_media/attachments/villages.csv")
                assert media.status_code == 200
                assert "Thôn 1".encode() in media.content
                moto.stop()
                instance = new_instance_id()
                xml = submission_xml(instance_id=instance)
                down = phone.submit(xml, [(FRONT, jpeg_bytes(seed=28))])
                assert down.status_code == 503, down.text
                assert "retry-after" in down.headers
                assert phone.http.get(f"{server.url}/readyz").status_code == 503
                assert server.spool_files() == []
                moto = MotoServer(moto.port).start()
                moto.create_bucket("survey-test")
                assert phone.submit(xml, [(FRONT, jpeg_bytes(seed=28))]).status_code == 201
        assert len(submissions(fresh_database, instance)) == 1
        assert len(submissions(fresh_database, stored)) == 1
    finally:
        moto.stop()
