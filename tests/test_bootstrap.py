"""First-start set-up: an admin that can log in, a default project, idempotent on every start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.auth.service import login
from service.bootstrap import ensure_admin
from service.projects.service import ensure_default_project

if TYPE_CHECKING:
    from service.resources import Resources


async def test_generated_admin_is_remembered_and_shown_while_it_works(resources: Resources) -> None:
    first = await ensure_admin(resources, email=None, password=None)
    assert first.created
    assert first.password is not None
    saved = (resources.settings.data_dir / "admin-login.txt").stat()
    assert saved.st_mode & 0o777 == 0o600
    session = await login(resources, email=first.email, password=first.password)
    assert session.token
    again = await ensure_admin(resources, email=None, password=None)
    assert (again.email, again.password, again.created) == (first.email, first.password, False)


async def test_admin_from_the_environment(resources: Resources) -> None:
    created = await ensure_admin(resources, email="Boss@Example.org", password="from the environment")
    assert (created.email, created.password) == ("boss@example.org", None)  # never echoed
    await login(resources, email="boss@example.org", password="from the environment")
    # A new ADMIN_PASSWORD takes effect on the next start.
    await ensure_admin(resources, email="boss@example.org", password="a changed password")
    await login(resources, email="boss@example.org", password="a changed password")


async def test_admin_email_without_password_still_gets_a_usable_login(resources: Resources) -> None:
    created = await ensure_admin(resources, email="lan@example.org", password=None)
    assert created.password is not None
    await login(resources, email="lan@example.org", password=created.password)


async def test_default_project_is_created_once(resources: Resources) -> None:
    first = await ensure_default_project(resources, "Mặc định")
    assert await ensure_default_project(resources, "Other name") == first
