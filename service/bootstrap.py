"""First-start set-up: the admin account, a default project, and the example form published with its media.

Runs once per `serve` (before any worker starts) and is idempotent: a second start changes nothing it does not
have to.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from service.areas.service import load_areas_from_form
from service.auth import queries as auth_queries
from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.auth.service import create_user
from service.db.migrate import migrate_url
from service.errors import Problem
from service.forms import media as form_media
from service.forms import reading as form_reading
from service.forms import service as forms
from service.media.store import remove_spool_leftovers
from service.projects.service import ensure_default_project

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.resources import Resources
    from service.settings import Settings

__all__ = [
    "EXAMPLE_FORMS_DIR",
    "AdminLogin",
    "bootstrap",
    "ensure_admin",
    "ensure_example_forms",
    "prepare",
]

log = logging.getLogger(__name__)

EXAMPLE_FORMS_DIR = Path(__file__).resolve().parents[1] / "forms"
DEFAULT_ADMIN_EMAIL = "admin@example.org"


class AdminLogin(msgspec.Struct, frozen=True):
    email: str
    # Shown only when we generated it (and it still works); a password from the environment is not echoed.
    password: str | None
    created: bool


async def ensure_admin(res: Resources, *, email: str | None, password: str | None) -> AdminLogin:
    """Make sure an admin exists. ADMIN_EMAIL/ADMIN_PASSWORD win; otherwise generate once and remember."""
    saved = res.settings.data_dir / "admin-login.txt"
    generated = False
    if email is None:
        async with res.pool.acquire() as conn:
            if await auth_queries.count_admins(conn):
                return AdminLogin(
                    email=_saved_email(saved) or "(existing admin)",
                    password=await _saved_password(res, saved),
                    created=False,
                )
        email = DEFAULT_ADMIN_EMAIL
    async with res.pool.acquire() as conn:
        user = await auth_queries.user_by_email(conn, email.strip().lower())
    if user is None and password is None:
        # A new admin always gets a password it can log in with: generated once, remembered, printed.
        password = secrets.token_urlsafe(12)
        generated = True
        _remember(saved, email.strip().lower(), password)
    if user is None:
        await create_user(
            res,
            SYSTEM,
            email=email,
            password=password,
            display_name="Administrator",
            is_admin=True,
        )
        return AdminLogin(email=email.strip().lower(), password=password if generated else None, created=True)
    async with res.pool.acquire() as conn, conn.transaction():
        if not user.is_admin:
            await auth_queries.make_admin(conn, user.id)
        if password is not None and not await res.passwords.verify(user.password_hash, password):
            await auth_queries.set_password_hash(conn, user.id, await res.passwords.hash(password))
    return AdminLogin(email=user.email, password=password if generated else None, created=False)


def _remember(path: Path, email: str, password: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"{email}\n{password}\n")


def _saved_email(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError):
        return None


async def _saved_password(res: Resources, path: Path) -> str | None:
    try:
        email, password = path.read_text(encoding="utf-8").splitlines()[:2]  # noqa: ASYNC240 - start-up only
    except (OSError, ValueError):
        return None
    async with res.pool.acquire() as conn:
        user = await auth_queries.user_by_email(conn, email)
    # Print it only while it still works; after a password change the file is stale.
    if user is not None and await res.passwords.verify(user.password_hash, password):
        return password
    return None


async def ensure_example_forms(res: Resources, project_id: int, directory: Path = EXAMPLE_FORMS_DIR) -> list[str]:
    """Publish every `forms/*.xlsx` not yet in the project, with media from `forms/<form_id>/`."""
    access = await access_to(res, SYSTEM, project_id)
    published = []
    for path in sorted(directory.glob("*.xlsx")):  # noqa: ASYNC240 - start-up only, a handful of files
        form_id = path.stem
        try:
            await forms.get_form(res, access, form_id)
            continue
        except Problem as exc:
            if exc.status != 404:
                raise
        data = await asyncio.to_thread(path.read_bytes)
        form = await forms.create_form(
            res,
            access,
            data,
            content_type=None,
            fallback_form_id=form_id,
            publish=False,
            ignore_warnings=True,
        )
        media_dir = directory / form.xml_form_id
        for attachment in await form_reading.list_attachments(res, access, form.xml_form_id, "draft"):
            media = media_dir / attachment.name
            if not attachment.exists and await asyncio.to_thread(media.is_file):
                await form_media.upload_attachment(res, access, form.xml_form_id, attachment.name, _read_file(media))
        await forms.publish_draft(res, access, form.xml_form_id, new_version=None)
        loaded = await load_areas_from_form(res, access, form.xml_form_id)
        if loaded.communes:
            log.info("loaded areas", extra={"form": form.xml_form_id, "communes": loaded.communes})
        log.info("published example form", extra={"form": form.xml_form_id, "version": form.version})
        published.append(form.xml_form_id)
    return published


async def _read_file(path: Path, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            yield chunk


async def bootstrap(res: Resources) -> tuple[AdminLogin, int, list[str]]:
    settings = res.settings
    admin = await ensure_admin(res, email=settings.admin_email, password=settings.admin_password)
    project_id = await ensure_default_project(res, "Rà soát hộ nghèo 2023 (mặc định)")
    published = await ensure_example_forms(res, project_id) if settings.load_example_form else []
    return admin, project_id, published


async def prepare(settings: Settings) -> None:
    """Migrate, set up on first start, and print where the service is and how to log in."""
    from service.resources import open_resources

    await migrate_url(settings.database_url)
    # No worker runs yet, so every spool file is a leftover of a crash (media/store.py).
    spool = settings.media_root / ".spool"
    if spool.is_dir() and (removed := remove_spool_leftovers(spool)):
        log.info("removed spool leftovers", extra={"files": removed})
    async with open_resources(settings.with_changes(db_pool_min=1, db_pool_max=2)) as res:
        admin, project_id, published = await bootstrap(res)
    origin = settings.origin
    lines = [
        f"Survey service at {origin}  (API docs: {origin}/docs)",
        f"Default project: {origin}/v1/projects/{project_id}",
        f"Admin login: {admin.email}" + (f"  password: {admin.password}" if admin.password else ""),
    ]
    if published:
        lines.append(f"Published example forms: {', '.join(published)}")
    width = max(len(line) for line in lines)
    # The login goes to the terminal, not into the (possibly shipped) JSON log.
    print("\n" + "=" * width, *lines, "=" * width + "\n", sep="\n", flush=True)  # noqa: T201
