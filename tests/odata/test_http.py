"""OData over HTTP: scope, paging ($top/$skip/$skiptoken/$count, nextLink), ETags, one household and its repeats,
and Central's refusals."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.forms import service as forms
from service.projects.service import assign_role, ensure_default_project
from tests.conftest import ADMIN_EMAIL, user_headers
from tests.support.households import ingest, publish_household_form
from tests.support.submission import new_instance_id, submission_xml
from tests.support.xlsform import XLSX, xlsx

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.resources import Resources

Client = "AsyncTestClient[Litestar]"
COMMUNE_A, COMMUNE_B, DISTRICT = "19753", "19771", "474"

MEMBERS_SURVEY: list[list[str | int | None]] = [
    ["type", "name", "label"],
    ["text", "hh_name", "Household head"],
    ["begin_repeat", "member", "Member"],
    ["text", "name", "Name"],
    ["integer", "age", "Age"],
    ["end_repeat", None, None],
]


def members_xml(instance_id: str, names: list[str]) -> bytes:
    members = "".join(f"<member><name>{n}</name><age>{20 + i}</age></member>" for i, n in enumerate(names))
    return (
        f'<data id="members" version="1"><hh_name>Head</hh_name>{members}'
        f"<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()


def local(url: str) -> str:
    """An absolute link the server gave, as a path the test client can follow."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def token_of(link: str) -> dict[str, Any]:
    value = dict(p.split("=", 1) for p in urlsplit(link).query.split("&"))["%24skiptoken"]
    decoded = value.replace("%3D", "=").replace("%2B", "+").replace("%2F", "/")
    assert decoded.startswith("01")
    parsed: dict[str, Any] = json.loads(base64.b64decode(decoded[2:]))
    return parsed


async def households(resources: Resources, project: int, count: int, commune: str | None = None) -> list[str]:
    """`count` households of the household form (newest last), optionally in a commune of DISTRICT."""
    admin = await access_to(resources, SYSTEM, project)
    created = []
    for _ in range(count):
        instance = new_instance_id()
        await ingest(resources, admin, submission_xml(instance_id=instance, photos=(None, None)))
        if commune is not None:
            async with resources.pool.acquire() as conn:
                await conn.execute(
                    "update submissions set area_codes = $2, district_code = $3, commune_code = $4 "
                    "where instance_id = $1",
                    instance,
                    [DISTRICT, commune],
                    DISTRICT,
                    commune,
                )
        created.append(instance)
    return created


@pytest.fixture
async def project(resources: Resources) -> int:
    project = await ensure_default_project(resources, "OData")
    await publish_household_form(resources, await access_to(resources, SYSTEM, project))
    return project


async def test_a_supervisor_sees_only_their_commune(
    client: AsyncTestClient[Litestar], resources: Resources, project: int, admin_headers: dict[str, str]
) -> None:
    [in_a] = await households(resources, project, 1, COMMUNE_A)
    [in_b] = await households(resources, project, 1, COMMUNE_B)
    headers = await user_headers(resources, "sup-a@example.org")
    admin = await access_to(resources, SYSTEM, project)
    async with resources.pool.acquire() as conn:
        user_id = await conn.fetchval("select id from users where email = 'sup-a@example.org'")
    await assign_role(resources, admin, user_id=user_id, role="supervisor", area_codes=[COMMUNE_A])
    base = f"/v1/projects/{project}/forms/household.svc/Submissions"
    seen = await client.get(f"{base}?$count=true", headers=headers)
    assert seen.status_code == 200, seen.text
    assert ([r["__id"] for r in seen.json()["value"]], seen.json()["@odata.count"]) == ([in_a], 1)
    # Another commune through $filter finds nothing: the scope is applied in SQL before the filter.
    other = await client.get(f"{base}?$filter=__system/communeCode eq '{COMMUNE_B}'&$count=true", headers=headers)
    assert (other.json()["value"], other.json()["@odata.count"]) == ([], 0)
    # …while the admin finds it, by commune or district.
    found = await client.get(f"{base}?$filter=__system/communeCode eq '{COMMUNE_B}'", headers=admin_headers)
    assert [r["__id"] for r in found.json()["value"]] == [in_b]
    both = await client.get(f"{base}?$filter=__system/districtCode eq '{DISTRICT}'", headers=admin_headers)
    assert len(both.json()["value"]) == 2
    # One household out of scope is not found, so its existence does not leak.
    single = await client.get(f"{base}('{in_b}')", headers=headers)
    assert (single.status_code, single.json()["code"]) == (404, 404.1)
    assert (await client.get(f"{base}('{in_a}')", headers=headers)).json()["value"][0]["__id"] == in_a
    # Someone without submission.read: 403.
    stranger = await user_headers(resources, "stranger@example.org")
    refused = await client.get(base, headers=stranger)
    assert (refused.status_code, refused.json()["code"]) == (403, 403.1), refused.text


async def test_pages_follow_next_links_and_agree_with_skip_and_count(
    client: AsyncTestClient[Litestar], resources: Resources, project: int, admin_headers: dict[str, str]
) -> None:
    created = await households(resources, project, 5)
    base = f"/v1/projects/{project}/forms/household.svc/Submissions"
    first = await client.get(f"{base}?$top=2&$count=True", headers=admin_headers)
    assert first.status_code == 200, first.text
    assert first.headers["odata-version"] == "4.0"
    assert first.headers["content-type"].startswith("application/json")
    body = first.json()
    assert list(body) == ["value", "@odata.context", "@odata.nextLink", "@odata.count"]
    assert body["@odata.count"] == 5
    assert body["@odata.context"].endswith(f"/v1/projects/{project}/forms/household.svc/$metadata#Submissions")
    assert "?%24top=2&%24count=True&%24skiptoken=01" in body["@odata.nextLink"]
    assert token_of(body["@odata.nextLink"]) == {"instanceId": body["value"][-1]["__id"]}
    seen = [r["__id"] for r in body["value"]]
    page = body
    while "@odata.nextLink" in page:
        page = (await client.get(local(page["@odata.nextLink"]), headers=admin_headers)).json()
        assert page.get("@odata.count") == 5, page
        seen += [r["__id"] for r in page["value"]]
    assert seen == created[::-1]  # newest first, none twice, none missing
    skipped = (await client.get(f"{base}?$top=2&$skip=2", headers=admin_headers)).json()
    assert [r["__id"] for r in skipped["value"]] == seen[2:4]
    assert "%24skip=" not in skipped["@odata.nextLink"]  # $skip gives way to the token, as Central
    last = (await client.get(f"{base}?$top=2&$skip=4", headers=admin_headers)).json()
    assert [r["__id"] for r in last["value"]] == seen[4:]
    assert "@odata.nextLink" not in last
    counted = (await client.get(f"{base}?$top=0&$count=true", headers=admin_headers)).json()
    assert counted == {"value": [], "@odata.context": body["@odata.context"], "@odata.count": 5}
    assert (await client.get(f"{base}?$top=0", headers=admin_headers)).json() == {
        "value": [],
        "@odata.context": body["@odata.context"],
    }
    everything = (await client.get(base, headers=admin_headers)).json()
    assert [r["__id"] for r in everything["value"]] == seen
    assert "@odata.nextLink" not in everything
    assert "@odata.count" not in everything
    # Oldest first, by $orderby: the keyset continues in that direction.
    oldest = (await client.get(f"{base}?$top=3&$orderby=__system/submissionDate asc", headers=admin_headers)).json()
    rest = (await client.get(local(oldest["@odata.nextLink"]), headers=admin_headers)).json()
    assert [r["__id"] for r in oldest["value"] + rest["value"]] == created
    # Another order continues by offset.
    by_update = (await client.get(f"{base}?$top=3&$orderby=__system/updatedAt desc", headers=admin_headers)).json()
    assert "%24skip=3" in by_update["@odata.nextLink"]
    rest = (await client.get(local(by_update["@odata.nextLink"]), headers=admin_headers)).json()
    assert sorted(r["__id"] for r in by_update["value"] + rest["value"]) == sorted(created)


async def test_filters_select_and_the_etag(
    client: AsyncTestClient[Litestar], resources: Resources, project: int, admin_headers: dict[str, str]
) -> None:
    first, second = await households(resources, project, 2)
    base = f"/v1/projects/{project}/forms/household.svc/Submissions"
    by_id = (await client.get(f"{base}?$filter=__id eq '{second}'", headers=admin_headers)).json()
    assert [r["__id"] for r in by_id["value"]] == [second]
    async with resources.pool.acquire() as conn:
        await conn.execute("update submissions set review_state = 'approved' where instance_id = $1", first)
        submitter = await conn.fetchval("select id from users where email = $1", ADMIN_EMAIL)
        await conn.execute("update submissions set submitter_user_id = $1", submitter)
    approved = await client.get(f"{base}?$filter=__system/reviewState eq 'approved'", headers=admin_headers)
    assert [r["__id"] for r in approved.json()["value"]] == [first]
    not_approved = await client.get(f"{base}?$filter=__system/reviewState ne 'approved'", headers=admin_headers)
    assert [r["__id"] for r in not_approved.json()["value"]] == [second]  # null review state counts as "ne"
    by_submitter = await client.get(f"{base}?$filter=__system/submitterId eq '{submitter}'", headers=admin_headers)
    assert len(by_submitter.json()["value"]) == 2
    system = by_submitter.json()["value"][0]["__system"]
    assert (system["submitterId"], system["submitterName"]) == (str(submitter), ADMIN_EMAIL)
    other = await client.get(f"{base}?$filter=__system/submitterId eq {submitter + 1}", headers=admin_headers)
    assert other.json()["value"] == []
    dated = await client.get(
        f"{base}?$filter=__system/submissionDate gt 2020-01-01 and year(__system/submissionDate) ge 2020",
        headers=admin_headers,
    )
    assert len(dated.json()["value"]) == 2
    selected = (await client.get(f"{base}?$select=__id,hh_name,__system/reviewState", headers=admin_headers)).json()
    assert selected["value"][0] == {"hh_name": "Nguyễn Văn A", "__id": second, "__system": {"reviewState": None}}
    # A weak ETag; the same selection unchanged answers 304, a change gives a new one.
    response = await client.get(base, headers=admin_headers)
    etag = response.headers["etag"]
    assert etag.startswith('W/"')
    again = await client.get(base, headers={**admin_headers, "If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    async with resources.pool.acquire() as conn:
        await conn.execute("update submissions set updated_at = now() where instance_id = $1", second)
    changed = await client.get(base, headers={**admin_headers, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    # Deleted households are hidden, unless the filter names deletedAt (as Central).
    async with resources.pool.acquire() as conn:
        await conn.execute("update submissions set deleted_at = now() where instance_id = $1", first)
    shown = (await client.get(base, headers=admin_headers)).json()
    assert [r["__id"] for r in shown["value"]] == [second]
    deleted = (await client.get(f"{base}?$filter=__system/deletedAt ne null", headers=admin_headers)).json()
    assert [r["__id"] for r in deleted["value"]] == [first]
    assert deleted["value"][0]["__system"]["deletedAt"] is not None


@pytest.fixture
async def members(resources: Resources, project: int) -> dict[str, list[str]]:
    """The members form with three households: names of their members by instanceID (newest last)."""
    admin = await access_to(resources, SYSTEM, project)
    await forms.create_form(
        resources,
        admin,
        xlsx(MEMBERS_SURVEY, form_id="members", version="1"),
        content_type=XLSX,
        fallback_form_id=None,
        publish=True,
        ignore_warnings=True,
    )
    households = {}
    for names in (["An", "Bình"], [], ["Chi", "Dũng", "Giang"]):
        instance = new_instance_id()
        await ingest(resources, admin, members_xml(instance, names))
        households[instance] = names
    return households


async def test_repeat_tables_page_by_rows(
    client: AsyncTestClient[Litestar], project: int, admin_headers: dict[str, str], members: dict[str, list[str]]
) -> None:
    base = f"/v1/projects/{project}/forms/members.svc"
    service = await client.get(base, headers=admin_headers)
    assert service.headers["content-type"] == "application/json; odata.metadata=minimal"
    assert [t["name"] for t in service.json()["value"]] == ["Submissions", "Submissions.member"]
    expected = [name for names in list(members.values())[::-1] for name in names]
    page = (await client.get(f"{base}/Submissions.member?$top=2&$count=true", headers=admin_headers)).json()
    assert page["@odata.context"].endswith("/members.svc/$metadata#Submissions.member")
    assert page["@odata.count"] == 5
    token = token_of(page["@odata.nextLink"])
    assert token == {"repeatId": page["value"][-1]["__id"], "instanceId": page["value"][-1]["__Submissions-id"]}
    names = [r["name"] for r in page["value"]]
    while "@odata.nextLink" in page:
        page = (await client.get(local(page["@odata.nextLink"]), headers=admin_headers)).json()
        names += [r["name"] for r in page["value"]]
    assert names == expected
    # A token as Central writes it (the repeat row only) still works, by scanning.
    central_token = "01" + base64.b64encode(json.dumps({"repeatId": token["repeatId"]}).encode()).decode()
    scanned = await client.get(f"{base}/Submissions.member?$top=2&$skiptoken={central_token}", headers=admin_headers)
    assert [r["name"] for r in scanned.json()["value"]] == expected[2:4]
    missing = "01" + base64.b64encode(json.dumps({"repeatId": "nope"}).encode()).decode()
    gone = await client.get(f"{base}/Submissions.member?$skiptoken={missing}", headers=admin_headers)
    assert (gone.status_code, gone.json()["code"]) == (400, 400.34)
    skipped = (await client.get(f"{base}/Submissions.member?$skip=3", headers=admin_headers)).json()
    assert [r["name"] for r in skipped["value"]] == expected[3:]
    counted = (await client.get(f"{base}/Submissions.member?$top=0&$count=true", headers=admin_headers)).json()
    assert counted["@odata.count"] == 5
    expanded = (await client.get(f"{base}/Submissions?$expand=*", headers=admin_headers)).json()
    empty = next(r for r in expanded["value"] if r["__id"] == list(members)[1])
    assert "member" not in empty
    assert "member@odata.navigationLink" not in empty


async def test_one_household_and_its_rows(
    client: AsyncTestClient[Litestar], project: int, admin_headers: dict[str, str], members: dict[str, list[str]]
) -> None:
    instance = list(members)[2]
    quoted = instance.replace(":", "%3A")
    base = f"/v1/projects/{project}/forms/members.svc/Submissions('{quoted}')"
    one = (await client.get(base, headers=admin_headers)).json()
    assert [r["__id"] for r in one["value"]] == [instance]
    assert one["value"][0]["member@odata.navigationLink"] == f"Submissions('{quoted}')/member"
    assert one["@odata.context"].endswith("/members.svc/$metadata#Submissions")
    rows = (await client.get(f"{base}/member?$top=2&$count=true", headers=admin_headers)).json()
    assert [r["name"] for r in rows["value"]] == ["Chi", "Dũng"]
    assert rows["@odata.count"] == 3
    assert rows["@odata.context"].endswith("/members.svc/$metadata#Submissions.member")
    assert token_of(rows["@odata.nextLink"]) == {"repeatId": rows["value"][-1]["__id"]}
    rest = (await client.get(local(rows["@odata.nextLink"]), headers=admin_headers)).json()
    assert [r["name"] for r in rest["value"]] == ["Giang"]
    assert (await client.get(f"{base}/nothing", headers=admin_headers)).status_code == 404
    missing = await client.get(
        f"/v1/projects/{project}/forms/members.svc/Submissions('uuid:nope')", headers=admin_headers
    )
    assert missing.status_code == 404


async def test_metadata_and_refusals(
    client: AsyncTestClient[Litestar], project: int, admin_headers: dict[str, str]
) -> None:
    svc = f"/v1/projects/{project}/forms/household.svc"
    metadata = await client.get(f"{svc}/$metadata", headers=admin_headers)
    assert metadata.status_code == 200
    assert metadata.headers["content-type"].startswith("application/xml")
    assert metadata.headers["odata-version"] == "4.0"
    assert '<EntityContainer Name="household">' in metadata.text
    # What Central refuses, with its codes.
    cases = {
        f"{svc}/Submissions?limit=3": 501.1,
        f"{svc}/Submissions?$expand=member": 501.6,
        f"{svc}/Submissions?$expand=*&$select=__id": 501.11,
        f"{svc}/Submissions?$format=xml": 406.1,
        f"{svc}/Submissions?$filter=hh_name eq 'A'": 501.5,
        f"{svc}/Submissions?$filter=__id eq": 400.18,
        f"{svc}/Submissions?$skiptoken=nonsense": 400.35,
        f"{svc}/Submissions?$skiptoken=01bm9wZQ==": 400.35,
        f"{svc}/Submissions?$select=nope": 400.23,
        f"{svc}/Submissions?$orderby=__system/updatedAt&$skiptoken=01eyJpbnN0YW5jZUlkIjoieCJ9": 501.1,
        f"{svc}/Submissions.nope": 404.1,
        f"{svc}/Nope": 404.1,
        f"/v1/projects/{project}/forms/nope.svc/Submissions": 404.1,
        f"/v1/projects/{project}/forms/household/Submissions": 404.1,
        f"/v1/projects/{project}/forms/nope.svc": 404.1,
    }
    for url, code in cases.items():
        response = await client.get(url, headers=admin_headers)
        assert (response.status_code, response.json()["code"]) == (int(code), code), (url, response.text)
    # Accepted: $format=json, $search (ignored, as Central for submissions), absurd numbers.
    for query in ("$format=json", "$format=application/json", "$search=x", "$top=99999999999999999999999&$skip=-3"):
        accepted = await client.get(f"{svc}/Submissions?{query}", headers=admin_headers)
        assert accepted.status_code == 200, (query, accepted.text)
    xml_only = await client.get(f"{svc}/Submissions", headers={**admin_headers, "Accept": "application/xml"})
    assert xml_only.status_code == 406
    # Excel and Power BI list both formats in Accept: that is fine.
    both = await client.get(
        f"{svc}/Submissions", headers={**admin_headers, "Accept": "application/json;q=1.0,application/xml;q=0.7"}
    )
    assert both.status_code == 200
    old = await client.get(f"{svc}/Submissions", headers={**admin_headers, "OData-MaxVersion": "3.0"})
    assert old.status_code == 404
    # $metadata answers its errors in XML, as Central.
    json_metadata = await client.get(f"{svc}/$metadata?$format=json", headers=admin_headers)
    assert json_metadata.status_code == 406
    assert json_metadata.headers["content-type"].startswith("text/xml")
    assert '<error code="406.1">' in json_metadata.text
    # The unchanged forms routes next to the OData ones.
    assert (await client.get(f"/v1/projects/{project}/forms/household", headers=admin_headers)).status_code == 200
    assert (await client.get(f"/v1/projects/{project}/forms/household.xml", headers=admin_headers)).status_code == 200
    versions = await client.get(f"/v1/projects/{project}/forms/household/versions", headers=admin_headers)
    assert versions.status_code == 200


async def test_app_user_urls_reach_odata_with_the_app_users_rights(
    client: AsyncTestClient[Litestar], project: int, admin_headers: dict[str, str]
) -> None:
    created = await client.post(
        f"/v1/projects/{project}/app-users",
        json={"displayName": "Phone", "forms": ["household"]},
        headers=admin_headers,
    )
    token = created.json()["token"]
    # App users may send households but not read them (Central's app users lack submission.read too).
    response = await client.get(f"/v1/key/{token}/projects/{project}/forms/household.svc/Submissions")
    assert (response.status_code, response.json()["code"]) == (403, 403.1)
    service = await client.get(f"/v1/key/{token}/projects/{project}/forms/household.svc")
    assert service.status_code == 403
