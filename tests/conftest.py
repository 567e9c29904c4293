"""Shared fixtures: a real PostgreSQL, settings pointing at temporary folders, and the app under test."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

import pytest
from litestar.testing import AsyncTestClient

from service.auth.models import SYSTEM
from service.settings import Settings
from tests.support.db import create_database, create_template, drop_database, with_database

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from litestar import Litestar

    from service.resources import Resources
    from tests.support.s3 import MotoServer


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DATABASE_URL's server when set, otherwise an embedded PostgreSQL for the whole run."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    from service.db.embedded import embedded_postgres

    with embedded_postgres(tmp_path_factory.mktemp("embedded-pg")) as embedded_url:
        yield embedded_url


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """One moto S3 server process for the whole run, started by the first test that asks; tests that stop S3
    start their own."""
    from tests.support.s3 import MotoServer

    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def template_db(pg_server_url: str) -> Iterator[str]:
    name = asyncio.run(create_template(pg_server_url))
    yield name
    asyncio.run(drop_database(pg_server_url, name))


@pytest.fixture
async def database_url(pg_server_url: str, template_db: str) -> AsyncIterator[str]:
    name = await create_database(pg_server_url, template_db)
    yield with_database(pg_server_url, name)
    await drop_database(pg_server_url, name)


def make_settings(database_url: str, tmp_path: Path, **changes: object) -> Settings:
    settings = Settings(
        database_url=database_url,
        db_pool_min=1,
        db_pool_max=4,
        data_dir=tmp_path / "data",
        media_root=tmp_path / "media",
        # Cheap hashing keeps the suite fast; production uses the RFC 9106 defaults.
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        load_example_form=False,
        form_validate="off",
        log_format="text",
        # The suite must run on a nearly full CI disk too; tests/media/test_disk_full.py tests the real limit.
        media_min_free_bytes=1024 * 1024,
    )
    return settings.with_changes(**changes) if changes else settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    from service.resources import open_resources

    async with open_resources(settings) as opened:
        yield opened


@pytest.fixture
def app(settings: Settings) -> Litestar:
    from service.app import create_app

    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "correct horse battery"


@pytest.fixture
async def admin_headers(client: AsyncTestClient[Litestar], resources: Resources) -> dict[str, str]:
    """Bearer headers of a fresh admin, created through the service layer and logged in over HTTP.

    The test client runs the app in its own event loop, so tests reach the database through `resources`
    (their own pool on the same database), never through the app's state.
    """
    from service.auth.service import create_user

    await create_user(resources, SYSTEM, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, is_admin=True)
    response = await client.post("/v1/sessions", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


USER_PASSWORD = "another long secret"


async def user_headers(resources: Resources, email: str, password: str = USER_PASSWORD) -> dict[str, str]:
    from service.auth.service import create_user, login

    await create_user(resources, SYSTEM, email=email, password=password)
    session = await login(resources, email=email, password=password)
    return {"Authorization": f"Bearer {session.token}"}
