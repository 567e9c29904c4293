"""The review site's world: the review tests' project and users (tests/review/conftest.py), plus households of the
example form with photos in two communes of one district and in a commune of another district."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
import pytest

from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.bootstrap import ensure_example_forms
from tests.review.conftest import PASSWORD, World, world
from tests.support.collect import jpeg_bytes
from tests.support.households import ingest
from tests.web.example import DASH, EXAMPLE_FORM, PHOTO_FIELDS, example_household

if TYPE_CHECKING:
    from service.resources import Resources

__all__ = ["PASSWORD", "Site", "site", "world"]

# (district, commune, households): the commune supervisor ("ward") reaches 19750 only; the district supervisor 474.
PLACES = (("474", "19750", 3), ("474", "19753", 1), ("481", "20044", 1))


class Site(msgspec.Struct):
    world: World
    form: str
    # commune → instanceIDs, oldest first
    households: dict[str, list[str]]
    # instanceID → its name as the queue shows it
    titles: dict[str, str]

    @property
    def project(self) -> int:
        return self.world.project

    def page(self, path: str = "") -> str:
        return f"/review/projects/{self.project}/forms/{EXAMPLE_FORM}{path}"


@pytest.fixture
async def site(resources: Resources, world: World) -> Site:
    await ensure_example_forms(resources, world.project)
    admin = await access_to(resources, SYSTEM, world.project)
    households: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    number = 0
    for district, commune, count in PLACES:
        for _ in range(count):
            number += 1
            photos = {field: f"17324600{number:02d}{i}.jpg" for i, field in enumerate(PHOTO_FIELDS)}
            instance, xml = example_household(
                district=district,
                commune=commune,
                number=number,
                head=f"Hộ số {number}",
                photos=photos,
                temporary=number % 2 == 1,
            )
            files = [(name, jpeg_bytes(seed=number * 10 + i)) for i, name in enumerate(photos.values())]
            await ingest(resources, admin, xml, files)
            households.setdefault(commune, []).append(instance)
            titles[instance] = f"46-{commune}-other-{number}{DASH}Hộ số {number}"
    return Site(world=world, form=EXAMPLE_FORM, households=households, titles=titles)
