"""The long-lived resources of one process, and the one place that opens and closes them.

Every service function takes a `Resources` as its first parameter: the HTTP app (created in its lifespan), the
CLI commands, the start-up set-up and the tests all open the same resources from the same settings.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.auth.passwords import Passwords
from service.db.pool import create_pool
from service.forms.convert import FormConverter
from service.forwarded import ProxyTrust
from service.media import open_store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.db.pool import Pool
    from service.media.store import MediaStore
    from service.settings import Settings

__all__ = ["Resources", "open_resources"]


@dataclass(slots=True, frozen=True)
class Resources:
    """Settings, the database pool, the media store, the password hasher, the form converter, which proxies to
    believe."""

    settings: Settings
    pool: Pool
    store: MediaStore
    passwords: Passwords
    converter: FormConverter
    proxies: ProxyTrust


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    if settings.database_url is None:
        raise ValueError("settings.database_url is not set (the embedded database starts in `serve`)")
    pool = await create_pool(settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    store = open_store(settings)
    converter = FormConverter(
        timeout_s=settings.form_convert_timeout_s,
        memory_mb=settings.form_convert_memory_mb,
        concurrency=settings.form_convert_concurrency,
        validate=settings.form_validate,
        java_path=settings.java_path,
    )
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        concurrency=settings.password_hash_concurrency,
        queue=settings.password_hash_queue,
    )
    try:
        yield Resources(
            settings=settings,
            pool=pool,
            store=store,
            passwords=passwords,
            converter=converter,
            proxies=ProxyTrust.from_setting(settings.trusted_proxies),
        )
    finally:
        converter.close()
        await store.close()
        await pool.close()
