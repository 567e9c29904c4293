"""ODK Collect against a real server process, request by request as Collect sends them.

formList → form → manifest → media (hashes match the served bytes) → HEAD → POST, split POSTs, resends,
conflicts, edits, and every bad input with its 4xx and the earlier data intact.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from service.appusers.qr import decode_payload
from tests.openrosa.conftest import Collect, make_app_user
from tests.support.collect import jpeg_bytes, split_like_collect, with_device_id
from tests.support.submission import new_instance_id, submission_xml

if TYPE_CHECKING:
    import httpx

    from tests.support.server import LiveServer

FORM_LIST_NS = "{http://openrosa.org/xforms/xformsList}"
MANIFEST_NS = "{http://openrosa.org/xforms/xformsManifest}"
FRONT, ROOF = "1732460000001.jpg", "1732460000002.jpg"


def openrosa_message(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("text/xml"), response.headers
    root = etree.fromstring(response.content)
    assert etree.QName(root).localname == "OpenRosaResponse"
    message = root.find("{http://openrosa.org/http/response}message")
    assert message is not None
    return message.text or ""


def assert_openrosa_headers(response: httpx.Response) -> None:
    assert response.headers["x-openrosa-version"] == "1.0"
    assert response.headers["x-openrosa-accept-content-length"] == "10000000"
    assert "date" in response.headers
    assert "set-cookie" not in response.headers


def test_form_list_form_manifest_and_media_as_collect_sees_them(
    collect: Collect, app_user: dict[str, Any], server: LiveServer
) -> None:
    listing = collect.get(f"{collect.server_url}/formList")
    assert listing.status_code == 200
    assert_openrosa_headers(listing)
    assert listing.headers["content-type"].startswith("text/xml")
    assert "max-age" not in listing.headers.get("cache-control", "")
    forms = {
        item.findtext(f"{FORM_LIST_NS}formID"): item
        for item in etree.fromstring(listing.content).iter(f"{FORM_LIST_NS}xform")
    }
    assert set(forms) == {"household", "with_media"}
    household = forms["household"]
    assert household.findtext(f"{FORM_LIST_NS}name") == "household"
    assert household.findtext(f"{FORM_LIST_NS}version") == "1"
    assert household.find(f"{FORM_LIST_NS}manifestUrl") is None  # no media, no manifest (as Central)
    download_url = household.findtext(f"{FORM_LIST_NS}downloadUrl")
    assert download_url is not None
    assert download_url.startswith(f"{server.url}/v1/key/")
    form = collect.get(download_url)
    assert form.status_code == 200
    assert household.findtext(f"{FORM_LIST_NS}hash") == f"md5:{hashlib.md5(form.content).hexdigest()}"
    # Refreshing gives the same hash: the form never looks "updated" to the phone.
    again = etree.fromstring(collect.get(f"{collect.server_url}/formList").content)
    assert [h.text for h in again.iter(f"{FORM_LIST_NS}hash")] == [
        h.text for h in etree.fromstring(listing.content).iter(f"{FORM_LIST_NS}hash")
    ]
    with_media = forms["with_media"]
    manifest_url = with_media.findtext(f"{FORM_LIST_NS}manifestUrl")
    assert manifest_url is not None
    manifest = collect.get(manifest_url)
    assert manifest.status_code == 200
    assert manifest.headers["content-type"].startswith("text/xml")
    assert_openrosa_headers(manifest)
    [media] = list(etree.fromstring(manifest.content).iter(f"{MANIFEST_NS}mediaFile"))
    assert media.findtext(f"{MANIFEST_NS}filename") == "villages.csv"
    media_url = media.findtext(f"{MANIFEST_NS}downloadUrl")
    assert media_url is not None
    media_bytes = collect.get(media_url)
    assert media_bytes.status_code == 200
    assert media.findtext(f"{MANIFEST_NS}hash") == f"md5:{hashlib.md5(media_bytes.content).hexdigest()}"
    assert "Thôn 1".encode() in media_bytes.content
    filtered = collect.get(f"{collect.server_url}/formList?formID=with_media")
    assert [x.text for x in etree.fromstring(filtered.content).iter(f"{FORM_LIST_NS}formID")] == ["with_media"]


def test_qr_payload_points_collect_at_the_app_user_url(app_user: dict[str, Any], server: LiveServer) -> None:
    settings = decode_payload(app_user["qrPayload"])
    general = settings["general"]
    assert isinstance(general, dict)
    assert general["server_url"] == app_user["serverUrl"]
    assert general["server_url"] == f"{server.url}/v1/key/{app_user['token']}/projects/{app_user['projectId']}"
    assert general["form_update_mode"] == "match_exactly"


def test_head_then_post_a_household(collect: Collect, admin: httpx.Client, project: int) -> None:
    head = collect.head_submission()
    assert head.status_code == 204
    assert_openrosa_headers(head)
    instance = new_instance_id()
    xml = submission_xml(instance_id=instance)
    front, roof = jpeg_bytes(seed=1), jpeg_bytes(seed=2)
    posted = collect.submit(xml, [(FRONT, front), (ROOF, roof), ("audit.csv", b"event,node\n")])
    assert posted.status_code == 201, posted.text
    assert_openrosa_headers(posted)
    assert openrosa_message(posted) == "full submission upload was successful!"
    assert "set-cookie" not in posted.headers
    # What a data manager sees afterwards, through the API.
    base = f"/v1/projects/{project}/forms/household/submissions"
    stored = admin.get(f"{base}/{instance}").json()
    assert stored["instanceName"] == "Nguyễn Văn A"
    assert (stored["attachmentsExpected"], stored["attachmentsPresent"]) == (2, 2)
    assert stored["deviceId"] == "collect:AbCdEfGh12345678"
    assert stored["geopoint"] == {"latitude": 16.2154, "longitude": 107.2931, "altitude": 560.0, "accuracy": 4.5}
    assert stored["encrypted"] is False
    assert admin.get(f"{base}/{instance}.xml").content == xml
    files = admin.get(f"{base}/{instance}/attachments").json()
    assert [(f["name"], f["exists"]) for f in files] == [(FRONT, True), (ROOF, True)]
    photo = admin.get(f"{base}/{instance}/attachments/{FRONT}")
    assert photo.content == front
    assert photo.headers["content-type"] == "image/jpeg"
    assert photo.headers["x-content-type-options"] == "nosniff"
    assert instance in [s["instanceId"] for s in admin.get(base).json()]
    assert collect.http.get(f"{collect.server_url.split('/v1/')[0]}{base}").status_code == 401


def test_split_posts_identical_resend_and_conflict(collect: Collect, server: LiveServer) -> None:
    instance = new_instance_id()
    xml = submission_xml(instance_id=instance)
    photos = [(FRONT, jpeg_bytes(1600, 1200, seed=3)), (ROOF, jpeg_bytes(1600, 1200, seed=4))]
    posts = split_like_collect(xml, photos, limit=len(photos[0][1]) + len(xml) + 10)
    assert len(posts) == 2
    for files, incomplete in posts:
        response = collect.submit(xml, files, incomplete=incomplete)
        assert response.status_code == 201, response.text
    # Collect re-sends the whole thing after a lost response: still one household, still 201.
    assert collect.submit(xml, photos).status_code == 201
    conflict = collect.submit(submission_xml(instance_id=instance, head="Trần Thị B"), photos)
    assert conflict.status_code == 409
    assert "different XML" in openrosa_message(conflict)
    assert server.spool_files() == []


def test_edit_with_deprecated_id(collect: Collect, admin: httpx.Client, project: int) -> None:
    original = new_instance_id()
    assert collect.submit(submission_xml(instance_id=original), [(FRONT, jpeg_bytes(seed=5))]).status_code == 201
    edited = new_instance_id()
    edit = submission_xml(instance_id=edited, deprecated_id=original, size=6)
    assert collect.submit(edit, [(FRONT, jpeg_bytes(seed=5))]).status_code == 201
    base = f"/v1/projects/{project}/forms/household/submissions/{original}"
    assert admin.get(base).json()["reviewState"] == "edited"
    versions = admin.get(f"{base}/versions").json()
    assert [(v["instanceId"], v["current"]) for v in versions] == [(edited, True), (original, False)]
    stale = collect.submit(submission_xml(instance_id=new_instance_id(), deprecated_id=original), [])
    assert stale.status_code == 409
    assert "out of date" in openrosa_message(stale)


def test_bad_inputs_get_their_4xx(collect: Collect, server: LiveServer, admin: httpx.Client, project: int) -> None:
    listing = f"/v1/projects/{project}/forms/household/submissions?limit=1000"
    earlier = collect.submit(submission_xml(), [(FRONT, jpeg_bytes(seed=60))])
    assert earlier.status_code == 201
    before = admin.get(listing).json()
    photo = [(FRONT, jpeg_bytes(seed=6))]
    cases: list[tuple[bytes, list[tuple[str, bytes]], int]] = [
        (b"<data id='household' version='1'><hh_name>x</data>", photo, 400),
        (
            b'<!DOCTYPE lol [<!ENTITY a "a"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b"<data id='household' version='1'><hh_name>&b;</hh_name></data>",
            photo,
            400,
        ),
        (submission_xml(form_id="no_such_form"), photo, 404),
        (submission_xml(version="42"), photo, 404),
        (submission_xml(), [("../../etc/passwd", b"x")], 400),
        (submission_xml(), [(FRONT, b"<html>definitely not a jpeg</html>")], 400),
    ]
    for xml, files, status in cases:
        response = collect.submit(xml, files)
        assert response.status_code == status, (xml[:60], response.text)
        assert openrosa_message(response)
        assert_openrosa_headers(response)
    no_xml = collect.http.post(
        with_device_id(f"{collect.server_url}/submission"),
        files={"other": ("a.txt", b"x")},
        headers={"X-OpenRosa-Version": "1.0"},
    )
    assert no_xml.status_code == 400
    assert "xml_submission_file" in openrosa_message(no_xml)
    assert server.spool_files() == []
    # Nothing was half-written, and what was there before is untouched.
    assert admin.get(listing).json() == before


def test_oversized_body_is_413_before_it_is_read(collect: Collect, server: LiveServer) -> None:
    big = [(FRONT, jpeg_bytes(seed=7) + b"\0" * 6_000_000)]
    response = collect.submit(submission_xml(), big)
    assert response.status_code == 413
    assert openrosa_message(response)
    assert server.spool_files() == []


def test_openrosa_header_is_required(collect: Collect) -> None:
    response = collect.http.get(with_device_id(f"{collect.server_url}/formList"))
    assert response.status_code == 400
    assert "X-OpenRosa-Version" in openrosa_message(response)


def test_wrong_credentials(server: LiveServer, admin: httpx.Client, project: int, app_user: dict[str, Any]) -> None:
    base = f"{server.url}/v1"
    with Collect(f"{base}/key/not-a-token/projects/{project}") as malformed:
        assert malformed.get(f"{malformed.server_url}/formList").status_code == 401
    with Collect(f"{base}/key/{'A' * 43}/projects/{project}") as unknown:
        assert unknown.get(f"{unknown.server_url}/formList").status_code == 403
        assert unknown.submit(submission_xml(), []).status_code == 403
    other_project = admin.post("/v1/projects", json={"name": "Elsewhere"}).json()["id"]
    elsewhere = app_user["serverUrl"].replace(f"/projects/{project}", f"/projects/{other_project}")
    with Collect(elsewhere) as wrong_project:
        assert wrong_project.get(f"{wrong_project.server_url}/formList").status_code == 403
    with Collect(f"{base}/projects/{project}") as web:
        anonymous = web.get(f"{web.server_url}/formList")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Basic realm=")
        assert web.head_submission().status_code == 401
        basic = "Basic " + base64.b64encode(b"admin@example.org:correct horse battery").decode()
        over_http = web.get(f"{web.server_url}/formList", Authorization=basic)
        assert over_http.status_code == 401
        over_https = web.get(f"{web.server_url}/formList", Authorization=basic, **{"X-Forwarded-Proto": "https"})
        assert over_https.status_code == 200


def test_revoked_app_user_and_unassigned_forms(server: LiveServer, admin: httpx.Client, project: int) -> None:
    limited = make_app_user(admin, project, "Only household", ["household"])
    with Collect(limited["serverUrl"]) as phone:
        listed = etree.fromstring(phone.get(f"{phone.server_url}/formList").content)
        assert [x.text for x in listed.iter(f"{FORM_LIST_NS}formID")] == ["household"]
        assert phone.get(f"{phone.server_url}/forms/with_media.xml").status_code == 403
        assert admin.delete(f"/v1/projects/{project}/app-users/{limited['id']}").status_code == 200
        assert phone.get(f"{phone.server_url}/formList").status_code == 403
        assert phone.submit(submission_xml(), []).status_code == 403
    # A new QR code must never quietly undo a revocation (a lost phone would come back to life).
    revived = admin.post(f"/v1/projects/{project}/app-users/{limited['id']}/qr.png")
    assert (revived.status_code, revived.json()["code"]) == (409, 409.50)
    with Collect(limited["serverUrl"]) as phone:
        assert phone.get(f"{phone.server_url}/formList").status_code == 403
    active = make_app_user(admin, project, "Still here", ["household"])
    reissued = admin.post(f"/v1/projects/{project}/app-users/{active['id']}/qr.png")
    assert reissued.status_code == 200
    assert reissued.content.startswith(b"\x89PNG")
    assert reissued.headers["cache-control"] == "no-store"


def test_closing_forms_leave_the_list_and_closed_forms_refuse(
    collect: Collect, admin: httpx.Client, project: int
) -> None:
    form_url = f"/v1/projects/{project}/forms/with_media"
    try:
        assert admin.patch(form_url, json={"state": "closing"}).status_code == 200
        listed = etree.fromstring(collect.get(f"{collect.server_url}/formList").content)
        assert "with_media" not in [x.text for x in listed.iter(f"{FORM_LIST_NS}formID")]
        assert admin.patch(form_url, json={"state": "closed"}).status_code == 200
        xml = (
            f'<data id="with_media" version="3"><village>20044-01</village>'
            f"<meta><instanceID>{new_instance_id()}</instanceID></meta></data>"
        ).encode()
        refused = collect.submit(xml)
        assert refused.status_code == 409
        assert "not currently accepting" in openrosa_message(refused)
    finally:
        admin.patch(form_url, json={"state": "open"})


def test_device_id_is_accepted_everywhere_and_recorded(collect: Collect) -> None:
    parts = urlsplit(with_device_id(f"{collect.server_url}/formList"))
    assert parse_qs(parts.query)["deviceID"] == ["collect:AbCdEfGh12345678"]
    assert collect.get(f"{collect.server_url}/formList").status_code == 200
