"""One media-store suite, run once per real backend: local disk and S3 (moto's server on loopback)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from service.media.local import LocalStore
from service.media.s3 import S3Store
from tests.support.s3 import ACCESS_KEY, SECRET_KEY, MotoServer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from service.media.store import MediaStore


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


def s3_store(moto: MotoServer, tmp_path: Path, bucket: str) -> S3Store:
    return S3Store(
        bucket=bucket,
        spool_dir=tmp_path / "spool",
        endpoint_url=moto.endpoint,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MediaStore]:
    if request.param == "local":
        opened: MediaStore = LocalStore(tmp_path / "media")
    else:
        moto: MotoServer = request.getfixturevalue("moto")
        bucket = f"test-{uuid.uuid4().hex[:12]}"
        moto.create_bucket(bucket)
        opened = s3_store(moto, tmp_path, bucket)
    yield opened
    await opened.close()
