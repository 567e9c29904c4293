"""Exports over HTTP on a real database: Central's CSV layout (groups, geopoints, repeats with keys), a ZIP whose
photos match their sha256, filters, scope, labels, split select_multiples, XLSX, GeoJSON, ETags and 304s, audits."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from typing import TYPE_CHECKING, Any

import pytest

from service.auth.access import access_to
from service.auth.models import SYSTEM
from tests.exports.conftest import PHOTO, household_xml
from tests.support.households import ingest
from tests.support.submission import new_instance_id

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.resources import Resources
    from tests.exports.conftest import Exports


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


async def test_the_csv_is_laid_out_as_centrals(client: AsyncTestClient[Litestar], exports: Exports) -> None:
    response = await client.get(exports.url(".csv"), headers=exports.admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    header = response.content.decode().splitlines()[0].split(",")
    assert header == [
        "SubmissionDate",
        "g_loc-district",
        "g_loc-commune",
        "g_loc-gps-Latitude",
        "g_loc-gps-Longitude",
        "g_loc-gps-Altitude",
        "g_loc-gps-Accuracy",
        "hh_name",
        "hh_size",
        "assets",
        "photo",
        "photo-SHA256",
        "photo-URL",
        "meta-instanceID",
        "KEY",
        "SubmitterID",
        "SubmitterName",
        "AttachmentsPresent",
        "AttachmentsExpected",
        "Status",
        "ReviewState",
        "DeviceID",
        "Edits",
        "FormVersion",
        "DistrictCode",
        "CommuneCode",
        "VillageCode",
        "ReviewedAt",
        "Stage",
        "FinalClassification",
        "RiskScore",
        "Classification",
        "ClassificationMismatch",
    ]
    first, second = rows(response.content)
    assert second["hh_name"] == "Nguyễn Văn A"  # newest first
    assert (second["g_loc-gps-Latitude"], second["g_loc-gps-Longitude"]) == ("16.4637", "107.5909")
    assert (second["g_loc-gps-Altitude"], second["g_loc-gps-Accuracy"]) == ("12.5", "4.0")
    assert second["assets"] == "tv moto"
    assert second["photo-SHA256"] == hashlib.sha256(exports.photos[second["KEY"]]).hexdigest()
    assert second["photo-URL"].endswith(f"/submissions/{second['KEY']}/attachments/{PHOTO}")
    assert (second["AttachmentsPresent"], second["AttachmentsExpected"], second["Edits"]) == ("1", "1", "0")
    assert (second["DistrictCode"], second["CommuneCode"], second["FormVersion"]) == ("474", "19750", "1")
    assert second["SubmissionDate"].endswith("Z")
    assert first["hh_name"] == "Hồ Văn C"


async def test_the_zip_has_every_table_and_photos_that_match(
    client: AsyncTestClient[Litestar], exports: Exports
) -> None:
    response = await client.get(exports.url(".csv.zip"), headers=exports.admin)
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    assert names[:2] == ["exported.csv", "exported-members.csv"]
    assert sorted(names[2:]) == [f"media/{PHOTO}", f"media/{PHOTO.replace('.jpg', '~1.jpg')}"]
    households = rows(archive.read("exported.csv"))
    members = rows(archive.read("exported-members.csv"))
    assert [m["m_name"] for m in members] == ["Hồ Văn C", "Nguyễn Văn A", "Lê Thị B"]
    first_household = households[1]["KEY"]
    assert [(m["PARENT_KEY"], m["KEY"]) for m in members[1:]] == [
        (first_household, f"{first_household}/members[1]"),
        (first_household, f"{first_household}/members[2]"),
    ]
    by_sha = {hashlib.sha256(archive.read(name)).hexdigest() for name in names[2:]}
    assert by_sha == {h["photo-SHA256"] for h in households}
    without = await client.get(exports.url(".csv.zip?attachments=false"), headers=exports.admin)
    assert zipfile.ZipFile(io.BytesIO(without.content)).namelist() == ["exported.csv", "exported-members.csv"]


async def test_filters_scope_labels_and_split(client: AsyncTestClient[Litestar], exports: Exports) -> None:
    by_area = rows((await client.get(exports.url(".csv?area=481"), headers=exports.admin)).content)
    assert [r["hh_name"] for r in by_area] == ["Hồ Văn C"]
    received = rows((await client.get(exports.url(".csv?state=received"), headers=exports.admin)).content)
    assert len(received) == 2
    assert rows((await client.get(exports.url(".csv?state=approved"), headers=exports.admin)).content) == []
    future = rows((await client.get(exports.url(".csv?since=2999-01-01T00:00:00Z"), headers=exports.admin)).content)
    assert future == []
    assert rows((await client.get(exports.url(".csv?version=nope"), headers=exports.admin)).content) == []
    ward = rows((await client.get(exports.url(".csv"), headers=exports.ward)).content)
    assert [r["hh_name"] for r in ward] == ["Nguyễn Văn A"]
    outside = rows((await client.get(exports.url(".csv?area=481"), headers=exports.ward)).content)
    assert outside == []
    labelled = rows(
        (await client.get(exports.url(".csv?labels=en&splitSelectMultiples=true"), headers=exports.admin)).content
    )
    household = labelled[1]
    assert (household["g_loc-district"], household["g_loc-commune"]) == ("Hue City", "Tay Loc Ward")
    assert household["assets"] == "TV Motorbike"
    assert (household["assets/tv"], household["assets/moto"], household["assets/fridge"]) == ("1", "1", "0")
    vietnamese = rows((await client.get(exports.url(".csv?labels=vi"), headers=exports.admin)).content)
    assert vietnamese[1]["g_loc-district"] == "Thành phố Huế"


async def test_etags_answer_304_until_something_changes(
    client: AsyncTestClient[Litestar], resources: Resources, exports: Exports
) -> None:
    first = await client.get(exports.url(".csv"), headers=exports.admin)
    etag = first.headers["etag"]
    again = await client.get(exports.url(".csv"), headers={**exports.admin, "If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    other_filter = await client.get(exports.url(".csv?area=474"), headers={**exports.admin, "If-None-Match": etag})
    assert other_filter.status_code == 200
    admin = await access_to(resources, SYSTEM, exports.project)
    await ingest(resources, admin, household_xml(new_instance_id(), "474", "19750", "Mới", [("Mới", 20)]))
    changed = await client.get(exports.url(".csv"), headers={**exports.admin, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    async with resources.pool.acquire() as conn:
        exported = await conn.fetch("select details from audits where action = 'submission.export'")
    assert len(exported) >= 3


async def test_xlsx_and_geojson(client: AsyncTestClient[Litestar], exports: Exports) -> None:
    from openpyxl import load_workbook

    response = await client.get(exports.url(".xlsx"), headers=exports.admin)
    assert response.status_code == 200, response.text
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    assert workbook.sheetnames == ["exported", "exported-members"]
    sheet: list[tuple[Any, ...]] = list(workbook["exported"].iter_rows(values_only=True))
    assert sheet[0][:3] == ("SubmissionDate", "g_loc-district", "g_loc-commune")
    header = list(sheet[0])
    household = dict(zip(header, sheet[2], strict=True))
    assert household["hh_name"] == "Nguyễn Văn A"
    assert household["hh_size"] == 2  # a number, not text
    assert household["g_loc-gps-Latitude"] == pytest.approx(16.4637)
    members = list(workbook["exported-members"].iter_rows(values_only=True))
    assert len(members) == 4

    geo = await client.get(exports.url(".geojson"), headers=exports.ward)
    assert geo.headers["content-type"].startswith("application/geo+json")
    collection = json.loads(geo.content)
    assert collection["type"] == "FeatureCollection"
    [feature] = collection["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [107.5909, 16.4637, 12.5]}
    assert feature["properties"]["communeCode"] == "19750"
    assert feature["properties"]["accuracy"] == 4.0


async def test_the_change_feed_never_skips_a_late_commit(
    client: AsyncTestClient[Litestar], resources: Resources, exports: Exports
) -> None:
    url = f"/v1/projects/{exports.project}/forms/exported/changes"
    first = (await client.get(url, headers=exports.admin)).json()
    assert [c["kind"] for c in first["changes"]] == ["created", "created"]
    cursor = first["cursor"]
    async with resources.pool.acquire() as conn:
        [household] = await conn.fetch("select id, form_id from submissions order by id limit 1")
    insert = "insert into submission_changes (form_id, submission_id, kind) values ($1, $2, 'comment')"
    early, late = await resources.pool.acquire(), await resources.pool.acquire()
    try:
        early_tx = early.transaction()
        await early_tx.start()
        await early.execute(insert, household["form_id"], household["id"])  # takes the smaller txid ...
        async with late.transaction():
            await late.execute(insert, household["form_id"], household["id"])  # ... but commits first
        meanwhile = (await client.get(f"{url}?since={cursor}", headers=exports.admin)).json()
        assert meanwhile["changes"] == []  # the late commit waits behind the open transaction
        assert meanwhile["cursor"] == cursor
        await early_tx.commit()
    finally:
        await resources.pool.release(early)
        await resources.pool.release(late)
    after = (await client.get(f"{url}?since={cursor}", headers=exports.admin)).json()
    assert [c["kind"] for c in after["changes"]] == ["comment", "comment"]
    assert (await client.get(f"{url}?since={after['cursor']}", headers=exports.admin)).json()["changes"] == []
    assert (await client.get(f"{url}?since=garbage", headers=exports.admin)).status_code == 400
    ward = (await client.get(url, headers=exports.ward)).json()
    assert len(ward["changes"]) == 3  # its commune's household: created, and the two comments


async def test_a_wide_form_exports_every_column(
    client: AsyncTestClient[Litestar], resources: Resources, exports: Exports
) -> None:
    """The example form has 120 columns; PostgreSQL functions take at most 100 arguments."""
    from openpyxl import load_workbook

    from service.forms import service as forms
    from tests.support.xlsform import XLSX, xlsx

    survey: list[list[str | None]] = [["type", "name", "label"]]
    survey += [["text", f"q{n:03d}", f"Q{n}"] for n in range(150)]
    admin = await access_to(resources, SYSTEM, exports.project)
    await forms.create_form(
        resources,
        admin,
        xlsx(survey, form_id="wide", version="1"),
        content_type=XLSX,
        fallback_form_id=None,
        publish=True,
        ignore_warnings=True,
    )
    answers = "".join(f"<q{n:03d}>a{n}</q{n:03d}>" for n in range(150))
    xml = f'<data id="wide" version="1">{answers}<meta><instanceID>{new_instance_id()}</instanceID></meta></data>'
    await ingest(resources, admin, xml.encode())
    url = f"/v1/projects/{exports.project}/forms/wide/submissions"
    response = await client.get(f"{url}.xlsx", headers=exports.admin)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    header, row = list(sheet.iter_rows(values_only=True))
    assert header[1:151] == tuple(f"q{n:03d}" for n in range(150))
    assert row[1:151] == tuple(f"a{n}" for n in range(150))
    csv_rows = rows((await client.get(f"{url}.csv", headers=exports.admin)).content)
    assert csv_rows[0]["q149"] == "a149"
