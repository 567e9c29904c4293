"""Apply numbered plain-SQL migrations from `migrations/` (0001_init.sql, 0002_….sql).

- The whole run holds a session advisory lock, so two processes starting together apply each file once.
- Each file runs in one transaction together with its ledger row in `schema_migrations`.
- A ledger row whose file is missing (the database is ahead of this code) or whose checksum changed (a landed
  migration was edited) stops the run: starting old code on a newer schema is how data gets damaged.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

if TYPE_CHECKING:
    from .pool import Connection

__all__ = ["Migration", "MigrationError", "default_migrations_dir", "load_migrations", "migrate", "migrate_url"]

log = logging.getLogger(__name__)

# An arbitrary constant that identifies "our migration lock" among advisory locks.
_LOCK_KEY = 7_305_020_231
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The database and the code disagree about the schema; the message says how."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def default_migrations_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "migrations"


def load_migrations(directory: Path) -> list[Migration]:
    migrations = []
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration file name {path.name!r} is not NNNN_lowercase_name.sql")
        migrations.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return migrations


_LEDGER = """
create table if not exists schema_migrations (
    version integer primary key,
    name text not null,
    checksum text not null,
    applied_at timestamptz not null default now()
)
"""


async def migrate(conn: Connection, migrations: list[Migration]) -> list[int]:
    """Bring the database up to date; return the versions applied by this call."""
    await conn.execute("select pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(_LEDGER)
        applied = {
            row["version"]: row["checksum"]
            for row in await conn.fetch("select version, checksum from schema_migrations")
        }
        _check_ledger(applied, migrations)
        done = []
        for migration in migrations:
            if migration.version in applied:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                try:
                    await conn.execute(
                        "insert into schema_migrations (version, name, checksum) values ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
                except asyncpg.UniqueViolationError:  # pragma: no cover - only without the lock
                    raise MigrationError(f"migration {migration.version} was applied concurrently") from None
            log.info("applied migration", extra={"version": migration.version, "migration": migration.name})
            done.append(migration.version)
        return done
    finally:
        await conn.execute("select pg_advisory_unlock($1)", _LOCK_KEY)


def _check_ledger(applied: dict[int, str], migrations: list[Migration]) -> None:
    known = {m.version: m for m in migrations}
    ahead = sorted(v for v in applied if v not in known)
    if ahead:
        raise MigrationError(
            f"the database has migrations {ahead} that this code does not know; "
            "it was migrated by a newer release — run that release or restore a matching backup"
        )
    for version, checksum in applied.items():
        if known[version].checksum != checksum:
            raise MigrationError(
                f"migration {version} ({known[version].name}) was changed after it was applied; "
                "landed migrations must never be edited — add a new one instead"
            )


async def migrate_url(database_url: str | None) -> list[int]:
    """Connect, apply this code's migrations, disconnect."""
    if database_url is None:
        raise MigrationError("no database to migrate (DATABASE_URL is unset and no embedded server runs)")
    conn = await asyncpg.connect(database_url)
    try:
        return await migrate(conn, load_migrations(default_migrations_dir()))
    finally:
        await conn.close()
