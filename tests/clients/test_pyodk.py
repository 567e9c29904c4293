"""The real pyODK (ODK Central's official Python client) against a real server process, call by call.

Each test is one thing a pyODK user does; every one passes (a call the server could not serve would be marked
xfail(strict=True) with the exact error pyODK raises, so that the mark fails the moment the piece lands). Expected
values are what ODK Central answers (central-backend's sources), not what this server happens to answer.

pyODK is configured as a user would: a TOML config file (`[central] base_url, username, password,
default_project_id`) and a token cache file, both named by path (or by PYODK_CONFIG_FILE / PYODK_CACHE_FILE).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import pytest
from pyodk._utils.session import Adapter
from pyodk.client import Client
from pyodk.errors import PyODKError

from tests.openrosa.conftest import ADMIN, Collect, admin_client, create_project, make_app_user
from tests.support.collect import DEVICE_ID, jpeg_bytes
from tests.support.db import create_database, drop_database, with_database
from tests.support.server import live_server
from tests.support.submission import new_instance_id, submission_xml
from tests.support.xlsform import XLSX, xlsx

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import httpx

    from tests.support.server import LiveServer

FRONT, ROOF = "1732460000001.jpg", "1732460000002.jpg"
log = logging.getLogger(__name__)
# "16.2154 107.2931 560.0 4.5" as Central's OData shows it: GeoJSON [lon, lat, alt], accuracy as a property.
GPS_GEOJSON = {"type": "Point", "coordinates": [107.2931, 16.2154, 560.0], "properties": {"accuracy": 4.5}}

# A form with what OData has to model: a group, a repeat, a geopoint inside the group, an image.
MEMBERS_SURVEY: list[list[str | int | None]] = [
    ["type", "name", "label"],
    ["text", "hh_name", "Household head"],
    ["begin_group", "location", "Location"],
    ["geopoint", "gps", "GPS"],
    ["end_group", None, None],
    ["begin_repeat", "member", "Member"],
    ["text", "name", "Name"],
    ["integer", "age", "Age"],
    ["end_repeat", None, None],
    ["image", "photo", "House photo"],
]

# What Central puts in every Submissions row's __system (lib/data/odata.js submissionToOData).
SYSTEM_FIELDS = {
    "submissionDate",
    "updatedAt",
    "deletedAt",
    "submitterId",
    "submitterName",
    "attachmentsPresent",
    "attachmentsExpected",
    "status",
    "reviewState",
    "deviceId",
    "edits",
    "formVersion",
}
# Central's Submission JSON (lib/model/frames/submission.js readable fields + embedded currentVersion).
SUBMISSION_KEYS = {
    "instanceId",
    "submitterId",
    "deviceId",
    "userAgent",
    "reviewState",
    "createdAt",
    "updatedAt",
    "deletedAt",
    "currentVersion",
}
VERSION_KEYS = {"instanceId", "instanceName", "submitterId", "deviceId", "userAgent", "createdAt", "current"}


def members_xml(instance_id: str, *, head: str = "Lê Thị C", photo: str = "1732460000009.jpg") -> bytes:
    return (
        f'<data id="members" version="1" xmlns:orx="http://openrosa.org/xforms">'
        f"<hh_name>{escape(head)}</hh_name><location><gps>16.2154 107.2931 560.0 4.5</gps></location>"
        f"<member><name>Lê Văn D</name><age>41</age></member><member><name>Lê Thị E</name><age>9</age></member>"
        f"<photo>{photo}</photo><meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()


@pytest.fixture(scope="module")
def database(pg_server_url: str, template_db: str) -> Iterator[str]:
    name = asyncio.run(create_database(pg_server_url, template_db))
    yield with_database(pg_server_url, name)
    asyncio.run(drop_database(pg_server_url, name))


@pytest.fixture(scope="module")
def server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(database_url=database, tmp_path=tmp_path_factory.mktemp("pyodk")) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    client = admin_client(server.url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def project(admin: httpx.Client) -> int:
    """Forms `household` (published), `with_media` (published, a CSV) and `members` (group, repeat, image)."""
    project_id = create_project(admin)
    created = admin.post(
        f"/v1/projects/{project_id}/forms?publish=true&ignoreWarnings=true",
        content=xlsx(MEMBERS_SURVEY, form_id="members", version="1"),
        headers={"Content-Type": XLSX},
    )
    assert created.status_code == 200, created.text
    return project_id


@pytest.fixture(scope="module")
def collect(admin: httpx.Client, project: int) -> Iterator[Collect]:
    app_user = make_app_user(admin, project, "Điều tra viên pyODK", ["household", "with_media", "members"])
    with Collect(app_user["serverUrl"]) as phone:
        yield phone


def collected(collect: Collect, **changes: Any) -> str:
    """A household sent from a phone (an app user), with both photos; its instanceID."""
    instance = new_instance_id()
    xml = submission_xml(instance_id=instance, **changes)
    seed = uuid.UUID(instance[5:]).int % 1000
    response = collect.submit(xml, [(FRONT, jpeg_bytes(seed=seed)), (ROOF, jpeg_bytes(seed=seed + 1))])
    assert response.status_code == 201, response.text
    return instance


def write_config(path: Path, server: LiveServer, project: int | None, password: str = ADMIN["password"]) -> Path:
    lines = ["[central]", f'base_url = "{server.url}"', f'username = "{ADMIN["email"]}"', f'password = "{password}"']
    if project is not None:
        lines.append(f"default_project_id = {project}")
    path.write_text("\n".join(lines) + "\n")
    return path


def open_client(config_path: Path, cache_path: Path) -> Any:
    client = Client(config_path=config_path, cache_path=cache_path)
    # pyODK mounts its timeout/retry adapter on https:// only; give plain http the same timeout (no retries).
    client.session.mount("http://", Adapter(timeout=30, max_retries=0))
    return client.open()


@pytest.fixture(scope="module")
def client(server: LiveServer, project: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("pyodk-config")
    opened = open_client(write_config(folder / "config.toml", server, project), folder / "cache.toml")
    yield opened
    opened.close()


# Sign-in: POST /v1/sessions {email, password} → {token}; a cached token is checked with GET /v1/users/current.


def test_sign_in_caches_the_token_and_reuses_it(
    server: LiveServer, project: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYODK_CONFIG_FILE", str(write_config(tmp_path / "config.toml", server, project)))
    monkeypatch.setenv("PYODK_CACHE_FILE", str(tmp_path / "cache.toml"))
    with Client() as first:
        header = first.session.headers["Authorization"]
        assert header.startswith("Bearer ")
        assert first.project_id == project
    cached = (tmp_path / "cache.toml").read_text()
    assert header.removeprefix("Bearer ") in cached
    # A second client verifies the cached token (GET /v1/users/current) instead of signing in again.
    with Client() as second:
        assert second.session.headers["Authorization"] == header


def test_sign_in_with_a_wrong_password_is_refused(server: LiveServer, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", server, None, password="not the password")
    with pytest.raises(PyODKError, match=r"The login request failed\. Status: 401") as raised:
        open_client(config, tmp_path / "cache.toml")
    assert raised.value.is_central_error(401.2)


def test_a_stale_cached_token_is_replaced(server: LiveServer, project: int, tmp_path: Path) -> None:
    (tmp_path / "cache.toml").write_text('token = "not-a-live-token"\n')
    client = open_client(write_config(tmp_path / "config.toml", server, project), tmp_path / "cache.toml")
    try:
        assert client.session.headers["Authorization"] != "Bearer not-a-live-token"
        assert client.projects.get().id == project
    finally:
        client.close()


# Projects and forms


def test_list_projects(client: Any, project: int) -> None:
    projects = client.projects.list()
    assert project in [p.id for p in projects]
    found = next(p for p in projects if p.id == project)
    assert found.name == "Wire tests"
    assert found.archived is False
    assert found.createdAt.tzinfo is not None


def test_get_project(client: Any, project: int) -> None:
    got = client.projects.get()  # default_project_id from the config file
    assert (got.id, got.name, got.deletedAt) == (project, "Wire tests", None)
    assert client.projects.get(project_id=project) == got


def test_list_forms(client: Any) -> None:
    forms = {f.xmlFormId: f for f in client.forms.list()}
    assert {"household", "with_media", "members"} <= set(forms)
    household = forms["household"]
    assert (household.version, household.state, household.enketoId, household.keyId) == ("1", "open", None, None)
    assert household.publishedAt is not None


def test_get_form_and_its_xml(client: Any, project: int) -> None:
    form = client.forms.get("household")
    assert (form.projectId, form.xmlFormId, form.version, form.state) == (project, "household", "1", "open")
    xml = client.forms.get_xml("household")
    assert 'id="household"' in xml
    assert form.hash == hashlib.md5(xml.encode()).hexdigest()


def test_create_form(client: Any, project: int) -> None:
    """POST /forms?ignoreWarnings=True&publish=False (XLSX, X-XlsForm-FormId-Fallback), then …/draft/publish."""
    survey: list[list[str | int | None]] = [["type", "name", "label"], ["text", "q1", "Question 1"]]
    form = client.forms.create(xlsx(survey, form_id="made_by_pyodk", version="1"), form_id="made_by_pyodk")
    assert (form.projectId, form.xmlFormId, form.version, form.publishedAt) == (project, "made_by_pyodk", "1", None)
    assert client.forms.get("made_by_pyodk").publishedAt is not None


def test_update_form(client: Any, project: int, admin: httpx.Client) -> None:
    """POST …/draft (new definition), then …/draft/publish."""
    survey: list[list[str | int | None]] = [["type", "name", "label"], ["text", "q1", "Question 1"]]
    created = admin.post(
        f"/v1/projects/{project}/forms?publish=true", content=xlsx(survey, form_id="updated_by_pyodk", version="1")
    )
    assert created.status_code == 200, created.text
    survey.append(["integer", "q2", "Question 2"])
    client.forms.update("updated_by_pyodk", definition=xlsx(survey, form_id="updated_by_pyodk", version="2"))
    assert client.forms.get("updated_by_pyodk").version == "2"


# Reading submissions (REST)


def test_list_submissions_of_a_form_without_any(client: Any) -> None:
    assert client.submissions.list(form_id="with_media") == []


def test_list_submissions(client: Any, collect: Collect) -> None:
    instance = collected(collect)
    submissions = {s.instanceId: s for s in client.submissions.list(form_id="household")}
    submission = submissions[instance]
    assert isinstance(submission.submitterId, int)
    assert submission.deviceId == DEVICE_ID
    assert submission.reviewState is None
    assert submission.instanceName == "Nguyễn Văn A"


def test_get_submission(client: Any, collect: Collect) -> None:
    instance = collected(collect)
    submission = client.submissions.get(instance, form_id="household")
    assert submission.instanceId == instance
    assert isinstance(submission.submitterId, int)
    assert (submission.deviceId, submission.reviewState, submission.updatedAt) == (DEVICE_ID, None, None)
    assert submission.userAgent is not None
    assert submission.userAgent.startswith("org.odk.collect.android/")


def test_submission_json_has_centrals_fields(client: Any, collect: Collect, project: int) -> None:
    """What pyODK users read through client.get(): the Submission object beyond pyODK's model."""
    instance = collected(collect)
    body = client.get(f"projects/{project}/forms/household/submissions/{instance}").json()
    assert set(body) >= SUBMISSION_KEYS
    assert isinstance(body["submitterId"], int)
    assert body["deletedAt"] is None
    version = body["currentVersion"]
    assert set(version) >= VERSION_KEYS
    assert (version["instanceId"], version["current"], version["instanceName"]) == (instance, True, "Nguyễn Văn A")
    assert version["submitterId"] == body["submitterId"]
    listed = client.get(f"projects/{project}/forms/household/submissions").json()
    assert set(next(s for s in listed if s["instanceId"] == instance)) >= SUBMISSION_KEYS


# OData (what get_table reads): GET …/forms/{id}.svc/{table}?$top&$skip&$count&$wkt&$filter&$expand&$select


def test_get_table(client: Any, collect: Collect, project: int, server: LiveServer) -> None:
    instance = collected(collect)
    table = client.submissions.get_table(form_id="household")
    assert table["@odata.context"] == f"{server.url}/v1/projects/{project}/forms/household.svc/$metadata#Submissions"
    row = next(r for r in table["value"] if r["__id"] == instance)
    assert set(row["__system"]) == SYSTEM_FIELDS
    system = row["__system"]
    assert isinstance(system["submitterId"], str)  # a string in OData, "for future-proofing"
    assert system["submitterName"] == "Điều tra viên pyODK"
    assert (system["attachmentsPresent"], system["attachmentsExpected"], system["edits"]) == (2, 2, 0)
    assert (system["status"], system["reviewState"], system["deletedAt"], system["updatedAt"]) == (None,) * 4
    assert (system["deviceId"], system["formVersion"]) == (DEVICE_ID, "1")
    assert (row["hh_name"], row["hh_size"], row["photo_front"], row["photo_roof"]) == ("Nguyễn Văn A", 4, FRONT, ROOF)
    assert row["hh_gps"] == GPS_GEOJSON
    assert row["meta"] == {"instanceID": instance}
    wkt = client.submissions.get_table(form_id="household", wkt=True)
    assert next(r for r in wkt["value"] if r["__id"] == instance)["hh_gps"] == "POINT (107.2931 16.2154 560)"


def test_get_table_pages_with_top_skip_count_and_next_link(client: Any, collect: Collect) -> None:
    collected(collect)
    instance = collected(collect)
    first = client.submissions.get_table(form_id="household", top=1, count=True)
    total = first["@odata.count"]
    assert total >= 2
    assert len(first["value"]) == 1
    assert "%24skiptoken=01" in first["@odata.nextLink"]
    # pyODK does not follow @odata.nextLink itself; users either follow it or page with $skip.
    following = client.get(first["@odata.nextLink"]).json()
    skipped = client.submissions.get_table(form_id="household", top=1, skip=1)
    assert following["value"][0]["__id"] == skipped["value"][0]["__id"] != first["value"][0]["__id"]
    everything: list[dict[str, Any]] = []
    page: dict[str, Any] = first
    while True:
        everything += page["value"]
        if "@odata.nextLink" not in page:
            break
        page = client.get(page["@odata.nextLink"]).json()
    assert len(everything) == total == len({r["__id"] for r in everything})
    none = client.submissions.get_table(form_id="household", top=0, count=True)
    assert (none["value"], none["@odata.count"]) == ([], total)
    filtered = client.submissions.get_table(form_id="household", filter=f"__id eq '{instance}'", count=True)
    assert ([r["__id"] for r in filtered["value"]], filtered["@odata.count"]) == ([instance], 1)


def test_odata_service_document_and_metadata(client: Any, project: int, server: LiveServer) -> None:
    service = client.session.response_or_error("GET", f"projects/{project}/forms/members.svc", logger=log)
    assert service.headers["content-type"].startswith("application/json")
    assert service.json() == {
        "@odata.context": f"{server.url}/v1/projects/{project}/forms/members.svc/$metadata",
        "value": [
            {"name": "Submissions", "kind": "EntitySet", "url": "Submissions"},
            {"name": "Submissions.member", "kind": "EntitySet", "url": "Submissions.member"},
        ],
    }
    metadata = client.session.response_or_error("GET", f"projects/{project}/forms/members.svc/$metadata", logger=log)
    assert metadata.headers["content-type"].startswith("application/xml")
    edmx = metadata.text
    assert edmx.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<edmx:Edmx')
    for expected in (
        '<Property Name="__system" Type="org.opendatakit.submission.metadata"/>',
        '<Property Name="location" Type="org.opendatakit.user.members.location"/>',
        '<Property Name="gps" Type="Edm.GeographyPoint"/>',
        '<NavigationProperty Name="member" Type="Collection(org.opendatakit.user.members.Submissions.member)"/>',
        '<EntityType Name="Submissions.member">',
        '<Property Name="__Submissions-id" Type="Edm.String"/>',
        '<Property Name="age" Type="Edm.Int64"/>',
        '<Property Name="photo" Type="Edm.String"/>',
        '<EntityContainer Name="members">',
    ):
        assert expected in edmx


def test_get_table_of_a_repeat_and_expanded(client: Any, collect: Collect) -> None:
    instance = new_instance_id()
    sent = collect.submit(members_xml(instance), [("1732460000009.jpg", jpeg_bytes(seed=9))])
    assert sent.status_code == 201, sent.text
    root = client.submissions.get_table(form_id="members")
    row = next(r for r in root["value"] if r["__id"] == instance)
    assert row["location"] == {"gps": GPS_GEOJSON}
    assert row["member@odata.navigationLink"] == f"Submissions('{instance.replace(':', '%3A')}')/member"
    assert "member" not in row
    members = client.submissions.get_table(form_id="members", table_name="Submissions.member")
    mine = [r for r in members["value"] if r["__Submissions-id"] == instance]
    assert [(r["name"], r["age"]) for r in mine] == [("Lê Văn D", 41), ("Lê Thị E", 9)]
    # Repeat rows are keyed by sha1("Submissions#<instanceId>%%<repeat>#<0-based index>") (lib/data/odata.js hashId).
    assert mine[0]["__id"] == hashlib.sha1(f"Submissions#{instance}%%member#0".encode()).hexdigest()
    expanded = client.submissions.get_table(form_id="members", expand="*")
    row = next(r for r in expanded["value"] if r["__id"] == instance)
    assert [m["name"] for m in row["member"]] == ["Lê Văn D", "Lê Thị E"]


# Writing submissions (REST)


def test_create_submission_from_xml(client: Any) -> None:
    instance = new_instance_id()
    created = client.submissions.create(
        xml=submission_xml(instance_id=instance).decode(), form_id="household", device_id="pyodk-test"
    )
    assert created.instanceId == instance
    assert isinstance(created.submitterId, int)
    assert created.deviceId == "pyodk-test"
    # pyODK lists the attachments right after creating: the XML names two photos, none sent yet.
    assert [(a.name, a.exists) for a in created.attachments] == [(FRONT, False), (ROOF, False)]
    assert client.submissions.get(instance, form_id="household").instanceId == instance


def test_edit_submission(client: Any, collect: Collect, project: int) -> None:
    original = collected(collect)
    edited = new_instance_id()
    xml = submission_xml(instance_id=edited, deprecated_id=original, size=7).decode()
    client.submissions.edit(original, xml, form_id="household")
    assert "<hh_size>7</hh_size>" in client.get(f"projects/{project}/forms/household/submissions/{original}.xml").text
    versions = client.get(f"projects/{project}/forms/household/submissions/{original}/versions").json()
    assert [(v["instanceId"], v["current"]) for v in versions] == [(edited, True), (original, False)]
    assert client.submissions.get(original, form_id="household").reviewState == "edited"


def test_set_review_state(client: Any, collect: Collect) -> None:
    instance = collected(collect)
    client.submissions.review(instance, "approved", form_id="household")
    assert client.submissions.get(instance, form_id="household").reviewState == "approved"
    with pytest.raises(PyODKError, match="Status: 400"):
        client.submissions.review(instance, "bogus", form_id="household")


def test_add_and_list_comments(client: Any, collect: Collect) -> None:
    instance = collected(collect)
    first = client.submissions.add_comment(instance, "Ảnh mái nhà bị mờ", form_id="household")
    assert first.body == "Ảnh mái nhà bị mờ"
    assert isinstance(first.actorId, int)
    client.submissions.add_comment(instance, "Đã chụp lại", form_id="household")
    comments = client.submissions.list_comments(instance, form_id="household")
    assert [c.body for c in comments] == ["Đã chụp lại", "Ảnh mái nhà bị mờ"]  # newest first
    assert comments[1].createdAt == first.createdAt
