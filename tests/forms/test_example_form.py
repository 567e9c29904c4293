"""The shipped example form: sources and workbook agree, it converts, passes ODK Validate, and publishes."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from forms.build_xlsx import FORMS_DIR, build_workbook_bytes, main, read_sheets
from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.bootstrap import ensure_example_forms
from service.forms import reading as form_reading
from service.forms import service as forms
from service.forms.convert import FormConverter
from service.forms.schema import parse_xform
from service.projects.service import ensure_default_project

if TYPE_CHECKING:
    from service.resources import Resources

SOURCE = FORMS_DIR / "household_poverty_review_2023"
WORKBOOK = FORMS_DIR / "household_poverty_review_2023.xlsx"


def test_committed_workbook_matches_its_sources_and_builds_deterministically() -> None:
    assert main(["--check"]) == 0
    assert build_workbook_bytes(SOURCE) == build_workbook_bytes(SOURCE)


def test_administrative_units_and_villages() -> None:
    choices = read_sheets(SOURCE)["choices"]
    header = choices[0]
    rows = [dict(zip(header, row, strict=True)) for row in choices[1:]]
    communes = [r for r in rows if r["list_name"] == "commune"]
    districts = {r["name"] for r in rows if r["list_name"] == "district"}
    assert len(communes) == 141
    assert districts == {"474", "476", "477", "478", "479", "480", "481", "482", "483"}
    assert {c["district"] for c in communes} == districts
    assert sum(c["area"] == "rural" for c in communes) == 95
    assert len({c["name"] for c in communes}) == 141
    villages = (SOURCE / "villages.csv").read_text(encoding="utf-8").splitlines()
    assert villages[0] == "name,label,commune"
    assert {line.split(",")[2] for line in villages[1:] if not line.startswith("other")} == {
        c["name"] for c in communes
    }


async def test_converts_and_passes_odk_validate() -> None:
    converter = FormConverter(validate="on" if shutil.which("java") else "off")
    converted = await converter.convert(WORKBOOK.read_bytes(), ".xlsx")
    assert converted.warnings == []
    schema = parse_xform(converted.xml.encode("utf-8"))
    assert (schema.xml_form_id, schema.version) == ("household_poverty_review_2023", "2026112501")
    photos = {f.name: f.max_pixels for f in schema.fields if f.binary}
    assert photos == {"photo_front": 1600, "photo_roof": 1600, "photo_interior": 1280, "photo_extra": 1280}
    assert [m.name for m in schema.media] == ["villages.csv"]
    assert schema.repeats == ["/data/members"]
    assert 'accuracyThreshold="10"' in converted.xml
    assert 'unacceptableAccuracyThreshold="20"' in converted.xml
    if not converter.validation_enabled:
        pytest.skip("ODK Validate needs Java")


async def test_first_start_publishes_it_with_its_media(resources: Resources) -> None:
    project = await ensure_default_project(resources, "Default")
    assert await ensure_example_forms(resources, project) == ["household_poverty_review_2023"]
    assert await ensure_example_forms(resources, project) == []  # idempotent on the next start
    access = await access_to(resources, SYSTEM, project)
    form = await forms.get_form(resources, access, "household_poverty_review_2023")
    assert form.published_at is not None
    [villages] = await form_reading.list_attachments(resources, access, "household_poverty_review_2023")
    assert (villages.name, villages.exists) == ("villages.csv", True)
