"""Listing a store and reading one object's size and age, on both backends (the housekeeping sweep's view)."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

from service.media.local import LocalStore
from tests.media.test_store import put_bytes

if TYPE_CHECKING:
    from service.media.store import MediaStore


async def test_list_and_stat_see_every_blob(store: MediaStore) -> None:
    before = time.time() - 5
    contents = [f"content {i}".encode() * (i + 1) for i in range(3)]
    keys = {await put_bytes(store, data): data for data in contents}
    listed = {found.key: found async for found in store.list()}
    assert set(listed) == set(keys)
    for key, data in keys.items():
        found = listed[key]
        assert found.size == len(data)
        assert found.sha256 == hashlib.sha256(data).hexdigest()
        assert before < found.modified < time.time() + 5
        assert await store.stat(key) == found
    missing = store.key_for(hashlib.sha256(b"never stored").hexdigest())
    assert await store.stat(missing) is None


async def test_an_empty_store_lists_nothing(store: MediaStore) -> None:
    assert [found async for found in store.list()] == []


async def test_the_disk_store_lists_only_its_own_keys(store: MediaStore) -> None:
    if not isinstance(store, LocalStore):
        return
    key = await put_bytes(store, b"a blob")
    folder = store.root.joinpath(*key.split("/")[:-1])
    (folder / "notes.txt").write_text("not a blob")
    (folder / key.rsplit("/", 1)[-1][:-1]).write_text("a name one character short")
    (store.root / ".spool" / "upload.part").write_bytes(b"in flight")
    assert [found.key async for found in store.list()] == [key]
