"""One media-store suite, run once per real backend: local disk and S3 (moto's server on loopback).

Shaped like litestar's `store` fixture (tests/conftest.py, tests/unit/test_stores.py): every test that asks for
`store` runs as `[local]` and `[s3]`; `pytest -m "not s3"` keeps to the disk.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from service.media.local import LocalStore
from service.media.s3 import S3Store
from tests.support.s3 import ACCESS_KEY, SECRET_KEY, MotoServer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from service.media.store import MediaStore

    OpenS3 = Callable[..., S3Store]


def _s3_store(endpoint: str, bucket: str, spool_dir: Path, **options: str) -> S3Store:
    return S3Store(
        bucket=bucket,
        spool_dir=spool_dir,
        endpoint_url=endpoint,
        access_key_id=options.pop("access_key_id", ACCESS_KEY),
        secret_access_key=options.pop("secret_access_key", SECRET_KEY),
        **options,
    )


@pytest.fixture
async def open_s3(tmp_path: Path) -> AsyncIterator[OpenS3]:
    """Open S3Stores against any endpoint and bucket; all are closed after the test."""
    opened: list[S3Store] = []

    def open_store(endpoint: str, bucket: str, **options: str) -> S3Store:
        store = _s3_store(endpoint, bucket, tmp_path / "spool", **options)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        await store.close()


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MediaStore]:
    if request.param == "local":
        local = LocalStore(tmp_path / "media")
        yield local
        await local.close()
        return
    # Only sync fixtures can be pulled in from here (an async one would need a second event loop), and only
    # the s3 param pulls moto in, so `-m "not s3"` never starts it.
    moto: MotoServer = request.getfixturevalue("moto")
    if not moto.running:  # a test that stopped the shared server must not take the rest of the run down with it
        moto.restart()
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    moto.create_bucket(bucket)
    s3 = _s3_store(moto.endpoint, bucket, tmp_path / "spool")
    yield s3
    await s3.close()
    # moto holds every object in memory: without this the session's server grows by each test's uploads.
    moto.reset()
