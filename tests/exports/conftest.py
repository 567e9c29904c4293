"""A project with a form that has a group, district/commune selects, a geopoint, a select_multiple, a photo and a
repeat of members; its areas loaded; two households (one per district), each with its photo; an admin and a
supervisor of one commune, signed in."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from service.areas import service as areas
from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.auth.service import create_user, login
from service.forms import service as forms
from service.projects.service import assign_role, ensure_default_project
from tests.support.collect import jpeg_bytes
from tests.support.households import ingest
from tests.support.submission import new_instance_id
from tests.support.xlsform import XLSX, xlsx

if TYPE_CHECKING:
    from service.resources import Resources

SURVEY: list[list[str | None]] = [
    ["type", "name", "label::Tiếng Việt (vi)", "label::English (en)", "choice_filter"],
    ["begin_group", "g_loc", "Địa bàn", "Location", None],
    ["select_one district", "district", "Huyện", "District", None],
    ["select_one commune", "commune", "Xã", "Commune", "district=${district}"],
    ["geopoint", "gps", "Vị trí", "Location", None],
    ["end_group", None, None, None, None],
    ["text", "hh_name", "Chủ hộ", "Head", None],
    ["integer", "hh_size", "Số người", "Size", None],
    ["select_multiple assets", "assets", "Tài sản", "Assets", None],
    ["image", "photo", "Ảnh nhà", "House photo", None],
    ["begin_repeat", "members", "Thành viên", "Members", None],
    ["text", "m_name", "Tên", "Name", None],
    ["integer", "m_age", "Tuổi", "Age", None],
    ["end_repeat", None, None, None, None],
]
CHOICES: list[list[str | None]] = [
    ["list_name", "name", "label::Tiếng Việt (vi)", "label::English (en)", "district"],
    ["district", "474", "Thành phố Huế", "Hue City", None],
    ["district", "481", "Huyện A Lưới", "A Luoi District", None],
    ["commune", "19750", "Phường Tây Lộc", "Tay Loc Ward", "474"],
    ["commune", "20044", "Thị trấn A Lưới", "A Luoi Town", "481"],
    ["assets", "tv", "Ti vi", "TV", None],
    ["assets", "moto", "Xe máy", "Motorbike", None],
    ["assets", "fridge", "Tủ lạnh", "Fridge", None],
]
PHOTO = "1732460000009.jpg"


def household_xml(instance: str, district: str, commune: str, name: str, members: list[tuple[str, int]]) -> bytes:
    people = "".join(f"<members><m_name>{n}</m_name><m_age>{a}</m_age></members>" for n, a in members)
    return (
        f'<data id="exported" version="1"><g_loc><district>{district}</district><commune>{commune}</commune>'
        f"<gps>16.4637 107.5909 12.5 4.0</gps></g_loc><hh_name>{name}</hh_name><hh_size>{len(members)}</hh_size>"
        f"<assets>tv moto</assets><photo>{PHOTO}</photo>{people}"
        f"<meta><instanceID>{instance}</instanceID></meta></data>"
    ).encode()


class Exports:
    def __init__(self, project: int, admin: dict[str, str], ward: dict[str, str], photos: dict[str, bytes]) -> None:
        self.project, self.admin, self.ward, self.photos = project, admin, ward, photos

    def url(self, suffix: str) -> str:
        return f"/v1/projects/{self.project}/forms/exported/submissions{suffix}"


@pytest.fixture
async def exports(resources: Resources) -> Exports:
    project = await ensure_default_project(resources, "Exports")
    admin = await access_to(resources, SYSTEM, project)
    await forms.create_form(
        resources,
        admin,
        xlsx(SURVEY, choices=CHOICES, form_id="exported", version="1"),
        content_type=XLSX,
        fallback_form_id=None,
        publish=True,
        ignore_warnings=True,
    )
    await areas.load_areas_from_form(resources, admin, "exported")
    photos = {}
    for seed, (district, commune, name, members) in enumerate(
        (
            ("474", "19750", "Nguyễn Văn A", [("Nguyễn Văn A", 40), ("Lê Thị B", 38)]),
            ("481", "20044", "Hồ Văn C", [("Hồ Văn C", 51)]),
        )
    ):
        instance = new_instance_id()
        photo = jpeg_bytes(seed=900 + seed)
        photos[instance] = photo
        await ingest(resources, admin, household_xml(instance, district, commune, name, members), [(PHOTO, photo)])
    headers = {}
    for email, area in (("boss@example.org", None), ("ward@example.org", ["19750"])):
        user = await create_user(resources, SYSTEM, email=email, password="a long password 2", is_admin=area is None)
        if area:
            await assign_role(resources, admin, user_id=user.id, role="supervisor", area_codes=area)
        session = await login(resources, email=email, password="a long password 2")
        headers[email] = {"Authorization": f"Bearer {session.token}"}
    return Exports(project, headers["boss@example.org"], headers["ward@example.org"], photos)
