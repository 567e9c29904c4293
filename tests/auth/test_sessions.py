"""Sessions and users over HTTP: login, bearer tokens, Basic over HTTPS only, admin-only user management."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, user_headers

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.resources import Resources


def _basic(email: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()


async def test_login_returns_a_working_bearer_token(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str]
) -> None:
    me = await client.get("/v1/users/current", headers=admin_headers)
    assert me.status_code == 200
    assert me.json()["email"] == ADMIN_EMAIL
    assert me.json()["isAdmin"] is True
    assert me.json()["lastLoginAt"] is not None


async def test_tokens_are_stored_hashed(resources: Resources, admin_headers: dict[str, str]) -> None:
    token = admin_headers["Authorization"].removeprefix("Bearer ")
    async with resources.pool.acquire() as conn:
        stored = await conn.fetch("select token_hash, csrf_hash from sessions")
        hashes = await conn.fetchval("select password_hash from users where email = $1", ADMIN_EMAIL)
    assert len(stored) == 1
    assert token.encode() not in stored[0]["token_hash"]
    assert hashes.startswith("$argon2id$")


async def test_wrong_password_and_unknown_user_look_the_same(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str]
) -> None:
    wrong = await client.post("/v1/sessions", json={"email": ADMIN_EMAIL, "password": "not the password"})
    unknown = await client.post("/v1/sessions", json={"email": "nobody@example.org", "password": "whatever1234"})
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "code": 401.2,
            "message": "Could not authenticate with the provided credentials.",
        }
    )


async def test_bad_bearer_tokens_are_refused(client: AsyncTestClient[Litestar]) -> None:
    for value in ("Bearer nope", "Bearer " + "A" * 43, "Token abc", "Bearer"):
        response = await client.get("/v1/users/current", headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_logout_ends_the_session(client: AsyncTestClient[Litestar], admin_headers: dict[str, str]) -> None:
    assert (await client.delete("/v1/sessions/current", headers=admin_headers)).status_code == 200
    assert (await client.get("/v1/users/current", headers=admin_headers)).status_code == 401


async def test_basic_auth_only_over_https(client: AsyncTestClient[Litestar], admin_headers: dict[str, str]) -> None:
    basic = {"Authorization": _basic(ADMIN_EMAIL, ADMIN_PASSWORD)}
    plain = await client.get("/v1/users/current", headers=basic)
    assert plain.status_code == 401
    assert plain.json()["code"] == 401.3
    # X-Forwarded-Proto from a peer that is not a trusted proxy proves nothing (tests/auth/test_sign_in_wire.py).
    claimed = await client.get("/v1/users/current", headers={**basic, "X-Forwarded-Proto": "https"})
    assert claimed.json()["code"] == 401.3
    secure = await client.get("https://testserver.local/v1/users/current", headers=basic)
    assert secure.status_code == 200
    wrong = {"Authorization": _basic(ADMIN_EMAIL, "wrong password")}
    assert (await client.get("https://testserver.local/v1/users/current", headers=wrong)).status_code == 401


async def test_only_admins_manage_users(
    client: AsyncTestClient[Litestar], resources: Resources, admin_headers: dict[str, str]
) -> None:
    created = await client.post(
        "/v1/users",
        json={"email": "Manager@Example.org", "password": "manager password", "displayName": "Chị Lan"},
        headers=admin_headers,
    )
    assert created.status_code == 200, created.text
    assert created.json()["email"] == "manager@example.org"
    duplicate = await client.post(
        "/v1/users", json={"email": "manager@example.org", "password": "another password"}, headers=admin_headers
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == 409.3
    short = await client.post(
        "/v1/users", json={"email": "short@example.org", "password": "short"}, headers=admin_headers
    )
    assert short.status_code == 400
    assert short.json()["code"] == 400.21
    user = await user_headers(resources, "someone@example.org")
    assert (await client.get("/v1/users", headers=user)).status_code == 403
    assert (await client.get("/v1/users")).status_code == 401
    listed = await client.get("/v1/users", headers=admin_headers)
    assert {u["email"] for u in listed.json()} >= {ADMIN_EMAIL, "manager@example.org", "someone@example.org"}


async def test_unknown_fields_and_malformed_json_are_400(client: AsyncTestClient[Litestar]) -> None:
    extra = await client.post("/v1/sessions", json={"email": "a@b.c", "password": "x", "remember": True})
    assert extra.status_code == 400
    broken = await client.post("/v1/sessions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400


async def test_password_change_revokes_sessions(client: AsyncTestClient[Litestar], resources: Resources) -> None:
    headers = await user_headers(resources, "changer@example.org")
    me = (await client.get("/v1/users/current", headers=headers)).json()
    bad = await client.put(
        f"/v1/users/{me['id']}/password", json={"old": "wrong one here", "new": "a brand new secret"}, headers=headers
    )
    assert bad.status_code == 401
    good = await client.put(
        f"/v1/users/{me['id']}/password",
        json={"old": "another long secret", "new": "a brand new secret"},
        headers=headers,
    )
    assert good.status_code == 200
    assert (await client.get("/v1/users/current", headers=headers)).status_code == 401
    login = await client.post("/v1/sessions", json={"email": "changer@example.org", "password": "a brand new secret"})
    assert login.status_code == 200


async def test_an_admin_deactivates_users_and_resets_passwords(
    client: AsyncTestClient[Litestar], resources: Resources, admin_headers: dict[str, str]
) -> None:
    headers = await user_headers(resources, "lan@example.org")
    me = (await client.get("/v1/users/current", headers=headers)).json()
    # Users change their own password only with the old one.
    own = await client.put(f"/v1/users/{me['id']}/password", json={"new": "a brand new secret"}, headers=headers)
    assert (own.status_code, own.json()["code"]) == (400, 400.2)
    # An administrator resets it without the old one; the user's sessions end.
    reset = await client.put(
        f"/v1/users/{me['id']}/password", json={"new": "reset by the admin"}, headers=admin_headers
    )
    assert reset.status_code == 200, reset.text
    assert (await client.get("/v1/users/current", headers=headers)).status_code == 401
    signed_in = await client.post("/v1/sessions", json={"email": "lan@example.org", "password": "reset by the admin"})
    assert signed_in.status_code == 200
    again = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    # Deactivation ends the sessions, refuses sign-in, and frees the email.
    assert (await client.delete(f"/v1/users/{me['id']}", headers=again)).status_code == 403
    assert (await client.delete(f"/v1/users/{me['id']}", headers=admin_headers)).status_code == 200
    assert (await client.get("/v1/users/current", headers=again)).status_code == 401
    gone = await client.post("/v1/sessions", json={"email": "lan@example.org", "password": "reset by the admin"})
    assert gone.status_code == 401
    assert (await client.get(f"/v1/users/{me['id']}", headers=admin_headers)).status_code == 404
    reused = await client.post(
        "/v1/users", json={"email": "lan@example.org", "password": "another one 123"}, headers=admin_headers
    )
    assert reused.status_code == 200
    async with resources.pool.acquire() as conn:
        actions = [r["action"] for r in await conn.fetch("select action from audits order by id")]
    assert {"user.password.reset", "user.delete"} <= set(actions)


async def test_the_last_admin_cannot_be_deactivated(
    client: AsyncTestClient[Litestar], admin_headers: dict[str, str]
) -> None:
    me = (await client.get("/v1/users/current", headers=admin_headers)).json()
    refused = await client.delete(f"/v1/users/{me['id']}", headers=admin_headers)
    assert (refused.status_code, refused.json()["code"]) == (409, 409.51)
    assert (await client.get("/v1/users/current", headers=admin_headers)).status_code == 200
