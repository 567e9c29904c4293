"""The review site's world: the review tests' project and users (tests/review/conftest.py), plus households of the
example form with photos in two communes of one district and in a commune of another district; and, for the photo
evidence, households whose photos carry EXIF (GPS, time) and share contents, checked by the real job worker."""

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
from tests.support.photos import move, photo
from tests.support.worker import run_worker
from tests.web.example import DASH, EXAMPLE_FORM, PHOTO_FIELDS, example_household

if TYPE_CHECKING:
    from service.resources import Resources
    from service.settings import Settings

__all__ = ["PASSWORD", "EvidenceSite", "Site", "evidence_site", "site", "world"]

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


# Every example household stands here (example.py's default geopoint).
HOUSE = (16.4637, 107.5909)


class EvidenceSite(msgspec.Struct):
    """The site, plus three households checked by the worker: `main` (commune 19750) whose front photo was taken 20 m
    from the house, whose roof photo is also `neighbour`'s (19750) and whose interior photo is also `elsewhere`'s
    (19753, outside the commune supervisor's reach)."""

    site: Site
    main: str
    neighbour: str
    elsewhere: str


def _photos(number: int) -> dict[str, str]:
    return {field: f"ev{number}-{field}.jpg" for field in PHOTO_FIELDS}


@pytest.fixture
async def evidence_site(resources: Resources, site: Site, settings: Settings) -> EvidenceSite:
    admin = await access_to(resources, SYSTEM, site.project)
    # Small photos keep the worker quick; the visit's time (example.py) is when these were taken.
    front = photo(
        101, width=800, height=600, gps=move(*HOUSE, north_m=20), gps_accuracy=5.0, taken="2023:10:02 08:20:00"
    )
    roof = photo(102, width=800, height=600, gps=move(*HOUSE, east_m=-12), taken="2023:10:02 08:25:00", offset="+07:00")
    interior = photo(103, width=800, height=600, exif=False)
    others = (photo(104, width=800, height=600, exif=False), photo(105, width=800, height=600, exif=False))
    plan = (
        (11, "19750", "Nguyễn Văn Chứng", (front, roof, interior)),
        (12, "19750", "Lê Thị Hàng Xóm", (roof, *others)),
        (13, "19753", "Trần Văn Xa", (interior, *others[::-1])),
    )
    made = []
    for number, commune, head, contents in plan:
        names = _photos(number)
        instance, xml = example_household(district="474", commune=commune, number=number, head=head, photos=names)
        await ingest(resources, admin, xml, list(zip(names.values(), contents, strict=True)))
        site.households.setdefault(commune, []).append(instance)
        site.titles[instance] = f"46-{commune}-other-{number}{DASH}{head}"
        made.append(instance)
    # The real worker, in a child process on the same database and media folder: EXIF, thumbnails, the checks.
    run_worker(settings, kinds="photo,evidence")
    return EvidenceSite(site=site, main=made[0], neighbour=made[1], elsewhere=made[2])
