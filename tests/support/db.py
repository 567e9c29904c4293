"""Real PostgreSQL for tests: DATABASE_URL when set, else an embedded server; a migrated template database,
copied into a fresh database per test (fast, isolated, real commits)."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from service.db.migrate import default_migrations_dir, load_migrations, migrate

__all__ = ["create_database", "create_template", "drop_database", "with_database"]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _admin_execute(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_template(server_url: str) -> str:
    name = f"survey_tmpl_{uuid.uuid4().hex[:10]}"
    await _admin_execute(server_url, f'create database "{name}"')
    conn = await asyncpg.connect(with_database(server_url, name))
    try:
        await migrate(conn, load_migrations(default_migrations_dir()))
    finally:
        await conn.close()
    return name


async def create_database(server_url: str, template: str) -> str:
    name = f"survey_test_{uuid.uuid4().hex[:12]}"
    await _admin_execute(server_url, f'create database "{name}" template "{template}"')
    return name


async def drop_database(server_url: str, name: str) -> None:
    await _admin_execute(server_url, f'drop database if exists "{name}" with (force)')
