"""Two app processes receiving the same household at once store it exactly once."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import TYPE_CHECKING

from tests.openrosa.conftest import Collect, admin_client, create_project, make_app_user, query
from tests.support.collect import jpeg_bytes
from tests.support.db import create_database, drop_database, with_database
from tests.support.server import live_server
from tests.support.submission import new_instance_id, submission_xml

if TYPE_CHECKING:
    from pathlib import Path


def test_simultaneous_identical_posts_to_two_workers(pg_server_url: str, template_db: str, tmp_path: Path) -> None:
    name = asyncio.run(create_database(pg_server_url, template_db))
    database = with_database(pg_server_url, name)
    try:
        with live_server(database_url=database, tmp_path=tmp_path, env={"WORKERS": "2"}) as server:
            with closing(admin_client(server.url)) as admin:
                project = create_project(admin)
                user = make_app_user(admin, project, "Phone", ["household"])
            instances = [new_instance_id() for _ in range(5)]
            photos = [("1732460000001.jpg", jpeg_bytes(seed=31)), ("1732460000002.jpg", jpeg_bytes(seed=32))]

            def send(instance: str) -> int:
                with Collect(user["serverUrl"]) as phone:
                    return phone.submit(submission_xml(instance_id=instance), photos).status_code

            # Every household sent 8 times at once, spread over both worker processes.
            with ThreadPoolExecutor(max_workers=16) as pool:
                statuses = list(pool.map(send, [i for i in instances for _ in range(8)]))
            assert statuses == [201] * 40
            rows = query(
                database,
                "select instance_id, count(*) as n from submissions where instance_id = any($1) group by 1",
                instances,
            )
            assert sorted((r["instance_id"], r["n"]) for r in rows) == sorted((i, 1) for i in instances)
            versions = query(database, "select count(*) as n from submission_versions")
            assert versions == [{"n": 5}]
    finally:
        asyncio.run(drop_database(pg_server_url, name))
