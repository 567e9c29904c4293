"""The `survey` command line against a real database."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import TYPE_CHECKING

import asyncpg

from service.appusers.qr import decode_payload

if TYPE_CHECKING:
    from pathlib import Path


def run(database_url: str, tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "LOG_FORMAT": "text",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        "PUBLIC_URL": "https://survey.example.org",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [sys.executable, "-m", "service", *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )


def test_migrate_create_admin_and_app_user_qr(database_url: str, tmp_path: Path) -> None:
    migrated = run(database_url, tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "up to date" in migrated.stdout
    created = run(
        database_url,
        tmp_path,
        "create-admin",
        "--email",
        "boss@example.org",
        "--password-stdin",
        stdin="long enough pw\n",
    )
    assert created.returncode == 0, created.stderr
    short = run(database_url, tmp_path, "create-admin", "--email", "x@example.org", "--password-stdin", stdin="short\n")
    assert short.returncode == 1
    assert "at least 10" in short.stderr
    png = tmp_path / "qr.png"
    missing = run(database_url, tmp_path, "app-user", "--project", "1", "--name", "Phone 7", "--png", str(png))
    assert missing.returncode == 1
    assert "project" in missing.stderr
    asyncio.run(_execute(database_url, "insert into projects (name) values ('Huế')"))
    qr = run(database_url, tmp_path, "app-user", "--project", "1", "--name", "Phone 7", "--png", str(png))
    assert qr.returncode == 0, qr.stderr
    assert "https://survey.example.org/v1/key/" in qr.stdout
    assert png.read_bytes().startswith(b"\x89PNG")
    assert run(database_url, tmp_path, "nonsense").returncode == 2


async def _execute(database_url: str, sql: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def test_settings_errors_name_the_variable(database_url: str, tmp_path: Path) -> None:
    env_run = subprocess.run(
        [sys.executable, "-m", "service", "migrate"],
        env={"DATABASE_URL": database_url, "PORT": "eighty", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert env_run.returncode == 2
    assert "PORT" in env_run.stderr


def test_qr_payload_round_trip() -> None:
    from service.appusers.qr import collect_settings_payload, qr_png

    payload = collect_settings_payload("https://s.example.org/v1/key/abc/projects/1", "Dự án")
    assert decode_payload(payload)["general"] == {
        "server_url": "https://s.example.org/v1/key/abc/projects/1",
        "form_update_mode": "match_exactly",
        "autosend": "wifi_and_cellular",
    }
    assert qr_png(payload).startswith(b"\x89PNG")


def test_db_shell_runs_psql_on_the_servers_database(database_url: str, tmp_path: Path) -> None:
    url = run(database_url, tmp_path, "db-shell", "--print-url")
    assert (url.returncode, url.stdout.strip()) == (0, database_url)
    # psql reads its commands from standard input when it is not a terminal.
    shell = run(database_url, tmp_path, "db-shell", stdin="select count(*) as migrations from schema_migrations;\n")
    assert shell.returncode == 0, shell.stderr
    assert "migrations" in shell.stdout
    assert "connecting to" in shell.stderr
