"""A refused upload leaves nothing behind, on both media stores: refusals known before storing are decided before
a byte is stored, and what a refusal found only in the transaction had stored is removed again (media/blobs.py)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import TYPE_CHECKING

import pytest

from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.errors import Problem
from service.forms import service as forms
from service.media.blobs import claim_new_blobs, discard_unreferenced, store_bytes
from service.media.store import StoreUnavailable
from service.projects.service import ensure_default_project
from service.resources import open_resources
from tests.conftest import make_settings
from tests.support.collect import jpeg_bytes
from tests.support.households import ingest, publish_household_form
from tests.support.s3 import ACCESS_KEY, SECRET_KEY
from tests.support.submission import new_instance_id, submission_xml
from tests.support.xlsform import SIMPLE_SURVEY, XLSX, xlsx

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from service.auth.access import Access
    from service.resources import Resources

FRONT = "1732460000001.jpg"


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def on_store(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> AsyncIterator[Resources]:
    """Resources on a fresh database, with the local-disk store or an S3 bucket on moto's server."""
    settings = make_settings(database_url, tmp_path)
    if request.param == "s3":
        moto = request.getfixturevalue("moto")
        if not moto.running:
            moto.restart()
        bucket = f"media-{uuid.uuid4().hex[:12]}"
        moto.create_bucket(bucket)
        settings = settings.with_changes(
            media_backend="s3",
            s3_endpoint_url=moto.endpoint,
            s3_bucket=bucket,
            s3_access_key_id=ACCESS_KEY,
            s3_secret_access_key=SECRET_KEY,
        )
    async with open_resources(settings) as resources:
        yield resources


@pytest.fixture
async def admin(on_store: Resources) -> Access:
    project = await ensure_default_project(on_store, "Refusals")
    access = await access_to(on_store, SYSTEM, project)
    await publish_household_form(on_store, access)
    return access


async def _stored(resources: Resources, data: bytes) -> bool:
    return await resources.store.exists(resources.store.key_for(hashlib.sha256(data).hexdigest()))


async def test_a_conflicting_resend_stores_none_of_its_photos(on_store: Resources, admin: Access) -> None:
    instance = new_instance_id()
    first, second = jpeg_bytes(seed=501), jpeg_bytes(seed=502)
    await ingest(on_store, admin, submission_xml(instance_id=instance, photos=(FRONT, None)), [(FRONT, first)])
    xml = submission_xml(instance_id=instance, head="Someone else", photos=(FRONT, None))
    with pytest.raises(Problem) as refused:
        await ingest(on_store, admin, xml, [(FRONT, second)])
    assert refused.value.code == 409.1
    assert await _stored(on_store, first)
    assert not await _stored(on_store, second)


async def test_a_stale_edit_stores_none_of_its_photos(on_store: Resources, admin: Access) -> None:
    original = new_instance_id()
    await ingest(on_store, admin, submission_xml(instance_id=original, photos=(None, None)))
    await ingest(on_store, admin, submission_xml(deprecated_id=original, photos=(None, None)))
    late = jpeg_bytes(seed=503)
    with pytest.raises(Problem) as refused:
        await ingest(on_store, admin, submission_xml(deprecated_id=original, photos=(FRONT, None)), [(FRONT, late)])
    assert refused.value.code == 409.9
    assert not await _stored(on_store, late)


async def test_racing_different_xml_keeps_only_the_winners_photo(on_store: Resources, admin: Access) -> None:
    """Two phones send different XML under one instanceID at once: one wins; the loser's photo is gone, whether it
    was refused before storing or only in the transaction."""
    for round_ in range(4):
        instance = new_instance_id()
        photos = [jpeg_bytes(seed=600 + 2 * round_), jpeg_bytes(seed=601 + 2 * round_)]
        attempts = [
            ingest(
                on_store,
                admin,
                submission_xml(instance_id=instance, head=f"Head {i}", photos=(FRONT, None)),
                [(FRONT, photo)],
            )
            for i, photo in enumerate(photos)
        ]
        outcomes = await asyncio.gather(*attempts, return_exceptions=True)
        won = [i for i, outcome in enumerate(outcomes) if not isinstance(outcome, BaseException)]
        assert len(won) == 1, outcomes
        lost = 1 - won[0]
        loser = outcomes[lost]
        assert isinstance(loser, Problem)
        assert loser.code == 409.1
        assert await _stored(on_store, photos[won[0]])
        assert not await _stored(on_store, photos[lost])


async def test_discard_keeps_content_someone_references_and_claim_sees_a_discard(on_store: Resources) -> None:
    used = await store_bytes(on_store.store, b"a photo another household has")
    async with on_store.pool.acquire() as conn:
        await conn.execute(
            "insert into blobs (sha256, size, content_type, storage_key) values ($1, $2, $3, $4)",
            bytes.fromhex(used.sha256),
            used.size,
            used.content_type,
            used.storage_key,
        )
    alone = await store_bytes(on_store.store, b"a photo only a refused upload had")
    added = [(bytes.fromhex(c.sha256), c.storage_key) for c in (used, alone)]
    await discard_unreferenced(on_store.pool, on_store.store, added)
    assert await on_store.store.exists(used.storage_key)
    assert not await on_store.store.exists(alone.storage_key)
    # A request that put `alone` too, and reaches its transaction after that discard, must send it again.
    async with on_store.pool.acquire() as conn, conn.transaction():
        with pytest.raises(StoreUnavailable):
            await claim_new_blobs(conn, on_store.store, added[1:])


async def test_a_duplicate_form_upload_stores_no_workbook(on_store: Resources, admin: Access) -> None:
    # The same form id with a different workbook (another label), so its bytes are new to the store.
    survey = [row[:] for row in SIMPLE_SURVEY]
    survey[1][2] = "Chủ hộ"
    workbook = xlsx(survey, form_id="household", version="2")
    with pytest.raises(Problem) as refused:
        await forms.create_form(
            on_store,
            admin,
            workbook,
            content_type=XLSX,
            fallback_form_id=None,
            publish=False,
            ignore_warnings=True,
        )
    assert refused.value.code == 409.3
    assert not await _stored(on_store, workbook)
