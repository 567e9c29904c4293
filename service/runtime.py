"""Open and close the long-lived resources of one process (pool, media store, converter, hasher).

Used by the app lifespan and by CLI commands, so both run the same code against the same settings.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from service.auth.passwords import Passwords
from service.db.pool import create_pool
from service.forms.convert import FormConverter
from service.http import Services
from service.media import open_store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.settings import Settings

__all__ = ["open_services"]


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
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
    )
    try:
        yield Services(settings=settings, pool=pool, store=store, passwords=passwords, converter=converter)
    finally:
        converter.close()
        await store.close()
        await pool.close()
