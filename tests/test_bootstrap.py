"""First-start set-up: an admin that can log in, a default project, idempotent on every start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.auth.service import login
from service.bootstrap import ensure_admin
from service.projects.service import ensure_default_project

if TYPE_CHECKING:
    from service.http import Services


async def test_generated_admin_is_remembered_and_shown_while_it_works(services: Services) -> None:
    first = await ensure_admin(services, email=None, password=None)
    assert first.created
    assert first.password is not None
    saved = (services.settings.data_dir / "admin-login.txt").stat()
    assert saved.st_mode & 0o777 == 0o600
    session = await login(services.pool, services.passwords, email=first.email, password=first.password, ttl_s=60)
    assert session.token
    again = await ensure_admin(services, email=None, password=None)
    assert (again.email, again.password, again.created) == (first.email, first.password, False)


async def test_admin_from_the_environment(services: Services) -> None:
    created = await ensure_admin(services, email="Boss@Example.org", password="from the environment")
    assert (created.email, created.password) == ("boss@example.org", None)  # never echoed
    await login(services.pool, services.passwords, email="boss@example.org", password="from the environment", ttl_s=60)
    # A new ADMIN_PASSWORD takes effect on the next start.
    await ensure_admin(services, email="boss@example.org", password="a changed password")
    await login(services.pool, services.passwords, email="boss@example.org", password="a changed password", ttl_s=60)


async def test_admin_email_without_password_still_gets_a_usable_login(services: Services) -> None:
    created = await ensure_admin(services, email="lan@example.org", password=None)
    assert created.password is not None
    await login(services.pool, services.passwords, email="lan@example.org", password=created.password, ttl_s=60)


async def test_default_project_is_created_once(services: Services) -> None:
    first = await ensure_default_project(services.pool, "Mặc định")
    assert await ensure_default_project(services.pool, "Other name") == first
