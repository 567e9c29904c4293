"""Forms over HTTP: XLSForm/XForm upload, located errors, drafts, publishing, versions, media, state."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import make_settings, user_headers
from tests.support.xlsform import SIMPLE_SURVEY, XLSX, xlsx

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from litestar import Litestar

    from service.resources import Resources

FORMS = "/v1/projects/{}/forms"


@pytest.fixture
async def project(client: AsyncTestClient[Litestar], admin_headers: dict[str, str]) -> int:
    response = await client.post("/v1/projects", json={"name": "Forms"}, headers=admin_headers)
    return int(response.json()["id"])


async def upload(
    client: AsyncTestClient[Litestar],
    headers: dict[str, str],
    project: int,
    body: bytes,
    *,
    content_type: str = XLSX,
    query: str = "?ignoreWarnings=true&publish=true",
    extra: dict[str, str] | None = None,
) -> Any:
    return await client.post(
        FORMS.format(project) + query,
        content=body,
        headers={**headers, "Content-Type": content_type, **(extra or {})},
    )


def first_problem(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 400.15, body
    problem: dict[str, Any] = body["details"]["problems"][0]
    return problem


async def test_xlsform_upload_publish_and_download(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str], project: int
) -> None:
    created = await upload(client, admin_headers, project, xlsx(SIMPLE_SURVEY, form_id="household", version="7"))
    assert created.status_code == 200, created.text
    form = created.json()
    assert (form["xmlFormId"], form["version"], form["state"]) == ("household", "7", "open")
    assert form["publishedAt"] is not None
    xml = await client.get(f"{FORMS.format(project)}/household.xml", headers=admin_headers)
    assert xml.status_code == 200
    # The hash the API (and Collect's form list) shows is the md5 of the exact bytes served.
    assert hashlib.md5(xml.content).hexdigest() == form["hash"]
    assert b'orx:max-pixels="1024"' in xml.content
    not_modified = await client.get(
        f"{FORMS.format(project)}/household.xml", headers={**admin_headers, "If-None-Match": xml.headers["etag"]}
    )
    assert not_modified.status_code == 304
    source = await client.get(f"{FORMS.format(project)}/household.xlsx", headers=admin_headers)
    assert source.status_code == 200
    assert source.content.startswith(b"PK")
    fields = (await client.get(f"{FORMS.format(project)}/household/fields", headers=admin_headers)).json()
    by_path = {f["path"]: f for f in fields}
    assert by_path["/data/photo_front"] == {
        "name": "photo_front",
        "path": "/data/photo_front",
        "type": "binary",
        "binary": True,
        "selectMultiple": False,
    }
    assert by_path["/data/hh_size"]["type"] == "int"
    listed = (await client.get(FORMS.format(project), headers=admin_headers)).json()
    assert [f["xmlFormId"] for f in listed] == ["household"]


async def test_warnings_need_ignore_warnings(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str], project: int
) -> None:
    survey = [["type", "name", "label"], ["image", "photo", "Photo"]]
    refused = await upload(client, admin_headers, project, xlsx(survey), query="")
    assert refused.status_code == 400
    assert refused.json()["code"] == 400.16
    warning = refused.json()["details"]["problems"][0]
    assert (warning["severity"], warning["sheet"], warning["row"]) == ("warning", "survey", 2)
    assert "max-pixels" in warning["message"]
    accepted = await upload(client, admin_headers, project, xlsx(survey), query="?ignoreWarnings=true")
    assert accepted.status_code == 200
    assert accepted.json()["warnings"][0]["row"] == 2
    assert accepted.json()["publishedAt"] is None


@pytest.mark.parametrize(
    ("survey", "sheet", "row", "needle"),
    [
        ([["type", "name", "label"], ["text", "a", "A"], ["txet", "b", "B"]], "survey", 3, "Unknown question type"),
        (
            [["type", "name", "label", "relevant"], ["text", "a", "A", None], ["text", "b", "B", "${nope}"]],
            "survey",
            3,
            "nope",
        ),
        ([["type", "name", "label"], ["begin_group", "g", "G"], ["text", "a", "A"]], "survey", 2, "end_group"),
        ([["type", "name", "label"], ["text", "a", "A"], ["integer", "a", "Again"]], "survey", 3, "unique"),
    ],
    ids=["unknown-type", "undefined-reference", "unclosed-group", "duplicate-name"],
)
async def test_broken_xlsforms_name_sheet_and_row(
    client: AsyncTestClient[Litestar],
    admin_headers: dict[str, str],
    project: int,
    survey: list[list[str | None]],
    sheet: str,
    row: int,
    needle: str,
) -> None:
    problem = first_problem(await upload(client, admin_headers, project, xlsx(survey)))
    assert (problem["severity"], problem["sheet"], problem["row"]) == ("error", sheet, row)
    assert needle in problem["message"]
    assert "[row :" not in problem["message"]


@pytest.fixture
async def validating_client(database_url: str, tmp_path: Path) -> AsyncIterator[AsyncTestClient[Litestar]]:
    import shutil

    from service.app import create_app

    if shutil.which("java") is None:
        pytest.skip("ODK Validate needs Java, which this machine lacks")
    async with AsyncTestClient(app=create_app(make_settings(database_url, tmp_path, form_validate="on"))) as client:
        yield client


async def test_calculation_cycle_is_caught_by_odk_validate(
    validating_client: AsyncTestClient[Litestar], resources: Resources
) -> None:
    from service.auth.models import SYSTEM
    from service.auth.service import create_user

    await create_user(resources, SYSTEM, email="v@example.org", password="validator pw1", is_admin=True)
    login = await validating_client.post("/v1/sessions", json={"email": "v@example.org", "password": "validator pw1"})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    project = (await validating_client.post("/v1/projects", json={"name": "V"}, headers=headers)).json()["id"]
    survey: list[list[str | None]] = [
        ["type", "name", "label", "calculation"],
        ["text", "intro", "Intro", None],
        ["calculate", "a", None, "${b} + 1"],
        ["calculate", "b", None, "${a} + 1"],
    ]
    problem = first_problem(await upload(validating_client, headers, project, xlsx(survey)))
    assert problem["source"] == "validate"
    assert "Cycle" in problem["message"]
    assert problem["sheet"] == "survey"
    assert problem["row"] in {3, 4}


async def test_form_id_and_version_rules(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str], project: int
) -> None:
    survey = [["type", "name", "label"], ["text", "a", "A"]]
    problem = first_problem(await upload(client, admin_headers, project, xlsx(survey, form_id=None, version="1")))
    assert problem["sheet"] == "settings"
    assert "form_id" in problem["message"]
    named = await upload(
        client,
        admin_headers,
        project,
        xlsx(survey, form_id=None, version="1"),
        extra={"X-XlsForm-FormId-Fallback": "khao sat 2023"},
    )
    assert named.status_code == 200, named.text
    assert named.json()["xmlFormId"] not in {"data", ""}
    body = xlsx(survey, form_id="no_version", version=None)
    first = await upload(client, admin_headers, project, body)
    assert first.status_code == 200
    version = first.json()["version"]
    assert version == hashlib.sha256(body).hexdigest()[:10]
    assert any("version" in w["message"] for w in first.json()["warnings"])


async def test_duplicate_form_id_is_409(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str], project: int
) -> None:
    body = xlsx(SIMPLE_SURVEY, form_id="dup")
    assert (await upload(client, admin_headers, project, body)).status_code == 200
    again = await upload(client, admin_headers, project, body)
    assert again.status_code == 409
    assert again.json()["code"] == 409.3


async def test_new_versions_keep_the_old_ones(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str], project: int
) -> None:
    base = f"{FORMS.format(project)}/hh"
    await upload(client, admin_headers, project, xlsx(SIMPLE_SURVEY, form_id="hh", version="1"))
    same = await client.post(
        f"{base}/draft?ignoreWarnings=true",
        content=xlsx(SIMPLE_SURVEY, form_id="hh", version="1"),
        headers={**admin_headers, "Content-Type": XLSX},
    )
    assert same.status_code == 200, same.text
    clash = await client.post(f"{base}/draft/publish", headers=admin_headers)
    assert clash.status_code == 409
    assert clash.json()["code"] == 409.6
    renamed = await client.post(f"{base}/draft/publish?version=2", headers=admin_headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["version"] == "2"
    xml = (await client.get(f"{base}.xml", headers=admin_headers)).content
    assert b'version="2"' in xml
    assert hashlib.md5(xml).hexdigest() == renamed.json()["hash"]
    versions = (await client.get(f"{base}/versions", headers=admin_headers)).json()
    assert [v["version"] for v in versions] == ["2", "1"]
    old = await client.get(f"{base}/versions/1.xml", headers=admin_headers)
    assert old.status_code == 200
    assert b'version="1"' in old.content
    other_id = await client.post(
        f"{base}/draft?ignoreWarnings=true",
        content=xlsx(SIMPLE_SURVEY, form_id="someone_else", version="3"),
        headers={**admin_headers, "Content-Type": XLSX},
    )
    assert other_id.status_code == 400
    assert (await client.post(f"{base}/draft/publish", headers=admin_headers)).json()["code"] == 404.1


async def test_form_media_upload_replace_and_carry_over(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str], project: int
) -> None:
    survey: list[list[str | None]] = [
        ["type", "name", "label", "media::image", "choice_filter"],
        ["note", "logo", "Logo", "logo.png", None],
        ["select_one_from_file villages.csv", "village", "Village", None, None],
    ]
    created = await upload(client, admin_headers, project, xlsx(survey, form_id="media"), query="?ignoreWarnings=true")
    assert created.status_code == 200, created.text
    base = f"{FORMS.format(project)}/media"
    attachments = (await client.get(f"{base}/draft/attachments", headers=admin_headers)).json()
    assert {(a["name"], a["type"], a["exists"]) for a in attachments} == {
        ("logo.png", "image", False),
        ("villages.csv", "file", False),
    }
    csv_bytes = "name,label\n1,Thôn 1\n2,Thôn 2\n".encode()
    put = await client.post(
        f"{base}/draft/attachments/villages.csv",
        content=csv_bytes,
        headers={**admin_headers, "Content-Type": "text/csv"},
    )
    assert put.status_code == 200, put.text
    assert put.json()["hash"] == hashlib.md5(csv_bytes).hexdigest()
    fake_png = await client.post(
        f"{base}/draft/attachments/logo.png",
        content=b"<html>not an image</html>",
        headers={**admin_headers, "Content-Type": "image/png"},
    )
    assert fake_png.status_code == 400
    unknown = await client.post(f"{base}/draft/attachments/other.csv", content=b"x", headers=admin_headers)
    assert unknown.status_code == 404
    traversal = await client.post(
        f"{base}/draft/attachments/..%2F..%2Fetc%2Fpasswd", content=b"x", headers=admin_headers
    )
    assert traversal.status_code == 404
    published = await client.post(f"{base}/draft/publish", headers=admin_headers)
    assert published.status_code == 200
    downloaded = await client.get(f"{base}/attachments/villages.csv", headers=admin_headers)
    assert downloaded.content == csv_bytes
    assert downloaded.headers["etag"] == f'"{hashlib.md5(csv_bytes).hexdigest()}"'
    assert downloaded.headers["content-type"].startswith("text/csv")
    # A new draft (empty body: copy of the published version) keeps the media; replacing one changes its hash.
    draft = await client.post(f"{base}/draft", headers=admin_headers)
    assert draft.status_code == 200, draft.text
    carried = {a["name"]: a for a in (await client.get(f"{base}/draft/attachments", headers=admin_headers)).json()}
    assert carried["villages.csv"]["exists"] is True
    newer = b"name,label\n1,Thon 1\n"
    await client.post(f"{base}/draft/attachments/villages.csv", content=newer, headers=admin_headers)
    await client.post(f"{base}/draft/publish?version=2", headers=admin_headers)
    assert (await client.get(f"{base}/attachments/villages.csv", headers=admin_headers)).content == newer


async def test_xform_xml_uploads(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str], project: int
) -> None:
    xform = (
        '<?xml version="1.0"?><h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">'
        '<h:head><h:title>Plain XForm</h:title><model><instance><data id="plain">'
        "<name/><meta><instanceID/></meta></data></instance>"
        '<bind nodeset="/data/name" type="string"/></model></h:head>'
        '<h:body><input ref="/data/name"><label>Name</label></input></h:body></h:html>'
    )
    created = await upload(client, admin_headers, project, xform.encode(), content_type="application/xml")
    assert created.status_code == 200, created.text
    assert created.json()["xmlFormId"] == "plain"
    assert created.json()["version"]  # filled in deterministically
    served = (await client.get(f"{FORMS.format(project)}/plain.xml", headers=admin_headers)).content
    assert hashlib.md5(served).hexdigest() == created.json()["hash"]
    doctype = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + xform[21:]
    assert first_problem(await upload(client, admin_headers, project, doctype.encode(), content_type="text/xml"))
    broken = await upload(client, admin_headers, project, xform[:-20].encode(), content_type="application/xml")
    assert "not well-formed" in first_problem(broken)["message"]
    no_id = xform.replace(' id="plain"', "")
    assert "id" in first_problem(await upload(client, admin_headers, project, no_id.encode()))["message"]


async def test_hostile_and_wrong_uploads_are_refused(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str], project: int
) -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (200 * 1024 * 1024))
    refused = await upload(client, admin_headers, project, bomb.getvalue())
    assert "unpacks" in first_problem(refused)["message"]
    xxe = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx(SIMPLE_SURVEY, form_id="xxe")), "r") as source,
        zipfile.ZipFile(xxe, "w") as target,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/sharedStrings.xml":
                data = data.replace(
                    b"<sst ", b'<!DOCTYPE sst [<!ENTITY x SYSTEM "file:///etc/passwd">]><sst ', 1
                ).replace(b"Household head", b"&x;")
            target.writestr(item, data)
    # The workbook reader ignores the DOCTYPE (defusedxml): either a refusal or a form without the file.
    result = await upload(client, admin_headers, project, xxe.getvalue())
    assert b"root:" not in result.content
    if result.status_code == 200:
        served = await client.get(f"{FORMS.format(project)}/xxe.xml", headers=admin_headers)
        assert b"root:" not in served.content
    junk = await upload(client, admin_headers, project, b"\x00junk" * 100, content_type="application/octet-stream")
    assert junk.status_code == 415
    assert (await upload(client, admin_headers, project, b"")).status_code == 400
    huge = await upload(client, admin_headers, project, b"PK" + b"\0" * (11 * 1024 * 1024))
    assert huge.status_code == 413


async def test_state_permissions_and_delete(
    client: AsyncTestClient[Litestar], resources: Resources, admin_headers: dict[str, str], project: int
) -> None:
    await upload(client, admin_headers, project, xlsx(SIMPLE_SURVEY, form_id="s"))
    base = f"{FORMS.format(project)}/s"
    closing = await client.patch(base, json={"state": "closing"}, headers=admin_headers)
    assert closing.json()["state"] == "closing"
    assert (await client.patch(base, json={"state": "paused"}, headers=admin_headers)).status_code == 400
    enumerator = await user_headers(resources, "enum@example.org")
    me = (await client.get("/v1/users/current", headers=enumerator)).json()
    await client.post(f"/v1/projects/{project}/assignments/enumerator/{me['id']}", headers=admin_headers)
    assert (await client.get(base, headers=enumerator)).status_code == 200
    assert (await client.patch(base, json={"state": "open"}, headers=enumerator)).status_code == 403
    assert (await upload(client, enumerator, project, xlsx(SIMPLE_SURVEY, form_id="e"))).status_code == 403
    assert (await client.get(base)).status_code == 401
    assert (await client.delete(base, headers=admin_headers)).status_code == 200
    assert (await client.get(base, headers=admin_headers)).status_code == 404
