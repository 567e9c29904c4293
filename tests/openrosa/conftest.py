"""Wire-test fixtures: a real server process (uvicorn), a project with the household form, an app user."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import pytest

from tests.support.collect import collect_headers, multipart_body, with_device_id
from tests.support.db import create_database, drop_database, with_database
from tests.support.server import live_server
from tests.support.xlsform import SIMPLE_SURVEY, XLSX, xlsx

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from tests.support.server import LiveServer

ADMIN = {"email": "admin@example.org", "password": "correct horse battery"}


@pytest.fixture(scope="module")
def wire_database(pg_server_url: str, template_db: str) -> Iterator[str]:
    name = asyncio.run(create_database(pg_server_url, template_db))
    yield with_database(pg_server_url, name)
    asyncio.run(drop_database(pg_server_url, name))


@pytest.fixture(scope="module")
def server(wire_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("wire")
    # As deployed behind a TLS-terminating proxy on the same host: X-Forwarded-Proto from 127.0.0.1 is believed.
    env = {"MAX_SUBMISSION_BYTES": "5000000", "TRUSTED_PROXIES": "127.0.0.1"}
    with live_server(database_url=wire_database, tmp_path=tmp, env=env) as running:
        yield running


class Collect:
    """Sends requests the way ODK Collect does, against a server URL it was configured with."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.http = httpx.Client(timeout=30)

    def __enter__(self) -> Collect:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def get(self, url: str, **headers: str) -> httpx.Response:
        return self.http.get(with_device_id(url), headers=collect_headers(**headers))

    def head_submission(self) -> httpx.Response:
        return self.http.head(with_device_id(f"{self.server_url}/submission"), headers=collect_headers())

    def submit(
        self, xml: bytes, files: Sequence[tuple[str, bytes]] = (), *, incomplete: bool = False, **headers: str
    ) -> httpx.Response:
        body, content_type = multipart_body(xml, files, incomplete=incomplete)
        return self.http.post(
            with_device_id(f"{self.server_url}/submission"),
            content=body,
            headers=collect_headers(**{"Content-Type": content_type, **headers}),
        )


def admin_client(server_url: str) -> httpx.Client:
    client = httpx.Client(base_url=server_url, timeout=30)
    token = client.post("/v1/sessions", json=ADMIN).json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


@pytest.fixture(scope="module")
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    client = admin_client(server.url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def project(admin: httpx.Client) -> int:
    return create_project(admin)


def create_project(admin: httpx.Client) -> int:
    """A project with the household form (published) and a form with a media file."""
    project_id = int(admin.post("/v1/projects", json={"name": "Wire tests"}).json()["id"])
    form = admin.post(
        f"/v1/projects/{project_id}/forms?publish=true&ignoreWarnings=true",
        content=xlsx(SIMPLE_SURVEY, form_id="household", version="1"),
        headers={"Content-Type": XLSX},
    )
    assert form.status_code == 200, form.text
    media_survey: list[list[str | None]] = [
        ["type", "name", "label", "choice_filter"],
        ["select_one_from_file villages.csv", "village", "Thôn", None],
        ["text", "note_text", "Ghi chú", None],
    ]
    created = admin.post(
        f"/v1/projects/{project_id}/forms?ignoreWarnings=true",
        content=xlsx(media_survey, form_id="with_media", version="3"),
        headers={"Content-Type": XLSX},
    )
    assert created.status_code == 200, created.text
    uploaded = admin.post(
        f"/v1/projects/{project_id}/forms/with_media/draft/attachments/villages.csv",
        content="name,label\n20044-01,Thôn 1\n20044-02,Thôn 2\n".encode(),
    )
    assert uploaded.status_code == 200, uploaded.text
    assert admin.post(f"/v1/projects/{project_id}/forms/with_media/draft/publish").status_code == 200
    return project_id


def query(database_url: str, sql: str, *args: object) -> list[dict[str, Any]]:
    """Read the server's database directly, to check what a request did or did not store."""

    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(database_url)
        try:
            return [dict(row) for row in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(run())


def make_app_user(admin: httpx.Client, project: int, name: str, forms: list[str]) -> dict[str, Any]:
    created = admin.post(f"/v1/projects/{project}/app-users", json={"displayName": name, "forms": forms})
    assert created.status_code == 200, created.text
    body: dict[str, Any] = created.json()
    return body


@pytest.fixture(scope="module")
def app_user(admin: httpx.Client, project: int) -> dict[str, Any]:
    return make_app_user(admin, project, "Điều tra viên 01", ["household", "with_media"])


@pytest.fixture
def collect(app_user: dict[str, Any]) -> Iterator[Collect]:
    phone = Collect(app_user["serverUrl"])
    yield phone
    phone.http.close()
