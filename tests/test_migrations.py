"""The migration runner on real servers: the configured/embedded one and the PostgreSQL 15 on loopback."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import asyncpg
import pytest

from service.db.migrate import Migration, MigrationError, default_migrations_dir, load_migrations, migrate
from tests.support.db import drop_database, with_database

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

PG15_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _reachable(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=2)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@pytest.fixture(params=["default", "pg15"])
async def empty_db(request: pytest.FixtureRequest, pg_server_url: str) -> AsyncIterator[str]:
    server = pg_server_url if request.param == "default" else PG15_URL
    if request.param == "pg15" and not await _reachable(PG15_URL):
        pytest.skip("no PostgreSQL 15 on 127.0.0.1:5432")
    name = f"survey_migr_{id(request)}"
    admin = await asyncpg.connect(with_database(server, "postgres"))
    try:
        await admin.execute(f'drop database if exists "{name}"')
        await admin.execute(f'create database "{name}"')
    finally:
        await admin.close()
    yield with_database(server, name)
    await drop_database(server, name)


async def test_fresh_run_applies_everything_and_rerun_converges(empty_db: str) -> None:
    migrations = load_migrations(default_migrations_dir())
    conn = await asyncpg.connect(empty_db)
    try:
        assert await migrate(conn, migrations) == [m.version for m in migrations]
        assert await migrate(conn, migrations) == []
        versions = await conn.fetch("select version, checksum from schema_migrations order by version")
        assert [(r["version"], r["checksum"]) for r in versions] == [(m.version, m.checksum) for m in migrations]
        server_version = await conn.fetchval("show server_version_num")
        assert int(server_version) >= 150000
    finally:
        await conn.close()


async def test_concurrent_runners_apply_each_migration_once(empty_db: str) -> None:
    migrations = load_migrations(default_migrations_dir())
    conns = [await asyncpg.connect(empty_db) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(conn, migrations) for conn in conns))
        applied = sorted(v for result in results for v in result)
        assert applied == [m.version for m in migrations]
    finally:
        for conn in conns:
            await conn.close()


async def test_refuses_a_database_ahead_of_the_code(empty_db: str) -> None:
    migrations = load_migrations(default_migrations_dir())
    conn = await asyncpg.connect(empty_db)
    try:
        await migrate(conn, migrations)
        await conn.execute("insert into schema_migrations (version, name, checksum) values (999, 'future', 'x')")
        with pytest.raises(MigrationError, match="newer release"):
            await migrate(conn, migrations)
    finally:
        await conn.close()


async def test_refuses_an_edited_migration(empty_db: str) -> None:
    migrations = load_migrations(default_migrations_dir())
    conn = await asyncpg.connect(empty_db)
    try:
        await migrate(conn, migrations)
        edited = [*migrations[:-1], Migration(migrations[-1].version, migrations[-1].name, "select 1")]
        with pytest.raises(MigrationError, match="never be edited"):
            await migrate(conn, edited)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_behind(empty_db: str) -> None:
    good = Migration(1, "good", "create table a (id int)")
    bad = Migration(2, "bad", "create table b (id int); select * from no_such_table")
    conn = await asyncpg.connect(empty_db)
    try:
        with pytest.raises(asyncpg.UndefinedTableError):
            await migrate(conn, [good, bad])
        assert await conn.fetchval("select to_regclass('b')") is None
        assert await conn.fetchval("select max(version) from schema_migrations") == 1
        # The lock was released: a fixed file applies on the next run.
        assert await migrate(conn, [good, Migration(2, "bad", "create table b (id int)")]) == [2]
    finally:
        await conn.close()


def test_file_names_and_numbering_are_checked(tmp_path: Path) -> None:
    (tmp_path / "0001_init.sql").write_text("select 1")
    (tmp_path / "0003_gap.sql").write_text("select 1")
    with pytest.raises(MigrationError, match="without gaps"):
        load_migrations(tmp_path)
    (tmp_path / "0003_gap.sql").unlink()
    (tmp_path / "2_bad-name.sql").write_text("select 1")
    with pytest.raises(MigrationError, match="NNNN_lowercase_name"):
        load_migrations(tmp_path)


async def test_0007_moves_app_users_into_one_actor_id_space_with_their_references(empty_db: str) -> None:
    """Data written before 0007 (user 1 and app user 1 both exist) keeps every link after the renumbering."""
    migrations = load_migrations(default_migrations_dir())
    before = [m for m in migrations if m.version < 7]
    conn = await asyncpg.connect(empty_db)
    try:
        await migrate(conn, before)
        await conn.execute(
            """insert into users (email) values ('a@example.org'), ('b@example.org');
            insert into projects (name) values ('P');
            insert into app_users (project_id, display_name, token_hash, token_issued_at)
                values (1, 'Phone', decode(repeat('ab', 32), 'hex'), now());
            insert into forms (project_id, xml_form_id) values (1, 'f');
            insert into form_app_users (form_id, app_user_id) values (1, 1);"""
        )
        await migrate(conn, migrations)
        assert await conn.fetchval("select id from app_users") == 3
        assert await conn.fetchval("select app_user_id from form_app_users") == 3
        user = await conn.fetchval("insert into users (email) values ('c@example.org') returning id")
        app_user = await conn.fetchval(
            "insert into app_users (project_id, display_name, token_hash, token_issued_at) "
            "values (1, 'Phone 2', decode(repeat('cd', 32), 'hex'), now()) returning id"
        )
        assert (user, app_user) == (4, 5)
    finally:
        await conn.close()
