"""Projects and role assignments over HTTP (Central's /v1/projects shapes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.conftest import user_headers

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.resources import Resources


async def test_admin_creates_and_lists_projects(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str]
) -> None:
    created = await client.post(
        "/v1/projects", json={"name": "  Rà soát   A Lưới  ", "description": "2023"}, headers=admin_headers
    )
    assert created.status_code == 200, created.text
    project = created.json()
    assert project["name"] == "Rà soát A Lưới"
    assert "form.create" in project["verbs"]
    listed = await client.get("/v1/projects", headers=admin_headers)
    assert [p["id"] for p in listed.json()] == [project["id"]]
    updated = await client.patch(f"/v1/projects/{project['id']}", json={"archived": True}, headers=admin_headers)
    assert updated.json()["archived"] is True
    assert (await client.post("/v1/projects", json={"name": ""}, headers=admin_headers)).status_code == 400


async def test_roles_limit_what_users_see_and_do(
    client: AsyncTestClient[Litestar], resources: Resources, admin_headers: dict[str, str]
) -> None:
    project = (await client.post("/v1/projects", json={"name": "P"}, headers=admin_headers)).json()
    other = (await client.post("/v1/projects", json={"name": "Other"}, headers=admin_headers)).json()
    supervisor = await user_headers(resources, "supervisor@example.org")
    me = (await client.get("/v1/users/current", headers=supervisor)).json()
    assert (await client.get(f"/v1/projects/{project['id']}", headers=supervisor)).status_code == 403
    assigned = await client.post(
        f"/v1/projects/{project['id']}/assignments/supervisor/{me['id']}",
        json={"areaCodes": ["481", "20044"]},
        headers=admin_headers,
    )
    assert assigned.status_code == 200, assigned.text
    seen = await client.get("/v1/projects", headers=supervisor)
    assert [p["id"] for p in seen.json()] == [project["id"]]
    assert "submission.review" in seen.json()[0]["verbs"]
    assert "form.create" not in seen.json()[0]["verbs"]
    assert (await client.get(f"/v1/projects/{other['id']}", headers=supervisor)).status_code == 403
    assert (await client.post("/v1/projects", json={"name": "Mine"}, headers=supervisor)).status_code == 403
    assignments = await client.get(f"/v1/projects/{project['id']}/assignments", headers=admin_headers)
    assert assignments.json()[0]["areaCodes"] == ["481", "20044"]
    bad_area = await client.post(
        f"/v1/projects/{project['id']}/assignments/supervisor/{me['id']}",
        json={"areaCodes": ["../x"]},
        headers=admin_headers,
    )
    assert bad_area.status_code == 400
    bad_role = await client.post(f"/v1/projects/{project['id']}/assignments/owner/{me['id']}", headers=admin_headers)
    assert bad_role.status_code == 400
    removed = await client.delete(
        f"/v1/projects/{project['id']}/assignments/supervisor/{me['id']}", headers=admin_headers
    )
    assert removed.status_code == 200
    assert (await client.get(f"/v1/projects/{project['id']}", headers=supervisor)).status_code == 403


async def test_unknown_project_is_404_and_anonymous_is_401(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str]
) -> None:
    assert (await client.get("/v1/projects/999", headers=admin_headers)).json()["code"] == 404.1
    assert (await client.get("/v1/projects")).status_code == 401
    assert (await client.get("/v1/nothing/here")).json()["code"] == 404.1
