"""A project with the `located` form (district, commune, village), its areas loaded, households in three communes of
two districts, and one user per role: a manager, a supervisor of one commune, one of a district, a viewer, an
enumerator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from service.areas import service as areas
from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.auth.service import create_user, login
from service.forms import service as forms
from service.projects.service import assign_role, ensure_default_project
from tests.areas.test_areas import CHOICES, SURVEY, household
from tests.support.households import ingest
from tests.support.submission import new_instance_id
from tests.support.xlsform import XLSX, xlsx

if TYPE_CHECKING:
    from service.resources import Resources

PASSWORD = "a long password 1"


class World(msgspec.Struct):
    project: int
    headers: dict[str, dict[str, str]]
    households: dict[str, list[str]]  # commune → instanceIDs
    user_ids: dict[str, int]

    def url(self, path: str = "") -> str:
        return f"/v1/projects/{self.project}/forms/located{path}"


@pytest.fixture
async def world(resources: Resources) -> World:
    project = await ensure_default_project(resources, "Review")
    admin = await access_to(resources, SYSTEM, project)
    await forms.create_form(
        resources,
        admin,
        xlsx(SURVEY, choices=CHOICES, form_id="located", version="1"),
        content_type=XLSX,
        fallback_form_id=None,
        publish=True,
        ignore_warnings=True,
    )
    await areas.load_areas_from_form(resources, admin, "located")
    households: dict[str, list[str]] = {}
    for district, commune, count in (("474", "19750", 3), ("474", "19753", 2), ("481", "20044", 2)):
        for _ in range(count):
            instance = new_instance_id()
            await ingest(resources, admin, household(district, commune, "other", instance_id=instance))
            households.setdefault(commune, []).append(instance)
    roles: dict[str, tuple[str | None, list[str] | None]] = {
        "manager": ("manager", None),
        "ward": ("supervisor", ["19750"]),
        "district": ("supervisor", ["474"]),
        "viewer": ("viewer", ["19750"]),
        "enumerator": ("enumerator", None),
        "admin": (None, None),
    }
    headers, user_ids = {}, {}
    for name, (role, area_codes) in roles.items():
        email = f"{name}@example.org"
        user = await create_user(resources, SYSTEM, email=email, password=PASSWORD, is_admin=role is None)
        if role is not None:
            await assign_role(resources, admin, user_id=user.id, role=role, area_codes=area_codes)  # type: ignore[arg-type]
        session = await login(resources, email=email, password=PASSWORD)
        headers[name] = {"Authorization": f"Bearer {session.token}"}
        user_ids[name] = user.id
    return World(project=project, headers=headers, households=households, user_ids=user_ids)


async def fetch(resources: Resources, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with resources.pool.acquire() as conn:
        return [dict(row) for row in await conn.fetch(sql, *args)]
