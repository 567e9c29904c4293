"""Sign-in over real HTTP against a real server process: throttled guessing, a flood that cannot starve a phone's
upload, and X-Forwarded-* believed only from configured proxies."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.openrosa.conftest import ADMIN, admin_client, create_project, make_app_user, query
from tests.support.collect import collect_headers, jpeg_bytes, multipart_body, with_device_id
from tests.support.db import create_database, drop_database, with_database
from tests.support.server import live_server
from tests.support.submission import submission_xml

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

LIMITS = {
    "SIGN_IN_FAILURES_PER_ACCOUNT_ADDRESS": "5",
    "SIGN_IN_FAILURES_PER_ADDRESS": "30",
    "SIGN_IN_FAILURES_PER_ACCOUNT": "50",
    "ALLOW_BASIC_OVER_HTTP": "false",
}


@pytest.fixture
def fresh_database(pg_server_url: str, template_db: str) -> Iterator[str]:
    name = asyncio.run(create_database(pg_server_url, template_db))
    yield with_database(pg_server_url, name)
    asyncio.run(drop_database(pg_server_url, name))


def _basic(email: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()


def _wrong_sign_ins(url: str, email: str, count: int, **headers: str) -> list[int]:
    with httpx.Client(base_url=url, timeout=30) as http:
        return [
            http.post("/v1/sessions", json={"email": email, "password": f"guess {i}"}, headers=headers).status_code
            for i in range(count)
        ]


def test_guessing_one_password_is_refused_after_five_failures(fresh_database: str, tmp_path: Path) -> None:
    with live_server(database_url=fresh_database, tmp_path=tmp_path, env=LIMITS) as server:
        statuses = _wrong_sign_ins(server.url, ADMIN["email"], 8)
        assert statuses == [401] * 5 + [429] * 3
        with httpx.Client(base_url=server.url, timeout=30) as http:
            refused = http.post("/v1/sessions", json=ADMIN)  # even the right password waits out the window
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) > 0
            assert refused.json()["code"] == 429.1
            # Basic counts against the same account: it is refused too, without hashing.
            basic = http.get(
                "/v1/users/current",
                headers={"Authorization": _basic(ADMIN["email"], "x"), "X-Forwarded-Proto": "https"},
            )
            assert basic.status_code in {401, 429}
        failures = query(fresh_database, "select details from audits where action = 'user.signin.failure' order by id")
        assert len(failures) == 5
        assert json.loads(failures[0]["details"]) == {
            "email": ADMIN["email"],
            "address": "127.0.0.1",
            "method": "session",
        }
        assert "sign-in failed" in server.log()
        assert "client=127.0.0.1" in server.log()


def test_basic_auth_failures_are_throttled_and_logged(fresh_database: str, tmp_path: Path) -> None:
    env = {**LIMITS, "ALLOW_BASIC_OVER_HTTP": "true"}
    with (
        live_server(database_url=fresh_database, tmp_path=tmp_path, env=env) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        statuses = [
            http.get("/v1/users/current", headers={"Authorization": _basic(ADMIN["email"], f"no {i}")}).status_code
            for i in range(7)
        ]
        assert statuses == [401] * 5 + [429] * 2
        assert "method=basic" in server.log()


def test_a_sign_in_flood_cannot_starve_a_phone(fresh_database: str, tmp_path: Path) -> None:
    """40 connections loop on sign-in with ever-new emails; the address limit answers them 429 without hashing,
    so a phone's household still goes through."""
    with live_server(database_url=fresh_database, tmp_path=tmp_path, env=LIMITS) as server:
        admin = admin_client(server.url)
        project = create_project(admin)
        phone_user = make_app_user(admin, project, "Phone", ["household"])
        admin.close()

        async def flood(stop: asyncio.Event, statuses: list[int]) -> None:
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:

                async def loop() -> None:
                    while not stop.is_set():
                        email = f"{uuid.uuid4().hex[:8]}@example.org"
                        response = await http.post("/v1/sessions", json={"email": email, "password": "guess guess"})
                        statuses.append(response.status_code)

                await asyncio.gather(*(loop() for _ in range(40)))

        async def phone() -> list[httpx.Response]:
            body, content_type = multipart_body(submission_xml(), [("1732460000001.jpg", jpeg_bytes(seed=77))])
            url = with_device_id(f"{phone_user['serverUrl']}/submission")
            async with httpx.AsyncClient(timeout=60) as http:
                await asyncio.sleep(1.0)  # let the flood reach its limit first
                results = []
                for _ in range(3):
                    headers = collect_headers(**{"Content-Type": content_type})
                    results.append(await http.post(url, content=body, headers=headers))
                return results

        async def run() -> tuple[list[int], list[httpx.Response]]:
            stop, statuses = asyncio.Event(), list[int]()
            flooding = asyncio.create_task(flood(stop, statuses))
            try:
                uploads = await phone()
            finally:
                stop.set()
                await flooding
            return statuses, uploads

        statuses, uploads = asyncio.run(run())
        assert [u.status_code for u in uploads] == [201, 201, 201]
        assert statuses.count(401) <= 30 + 40  # at most the address limit, plus those already in flight
        assert statuses.count(429) > statuses.count(401)


@pytest.mark.parametrize("trusted", [False, True])
def test_forwarded_headers_count_only_from_trusted_proxies(fresh_database: str, tmp_path: Path, trusted: bool) -> None:
    env = {**LIMITS, "TRUSTED_PROXIES": "127.0.0.1" if trusted else ""}
    with (
        live_server(database_url=fresh_database, tmp_path=tmp_path, env=env) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        claimed = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        basic = http.get("/v1/users/current", headers={"Authorization": _basic(**ADMIN), **claimed})
        if trusted:
            assert basic.status_code == 200
        else:
            assert (basic.status_code, basic.json()["code"]) == (401, 401.3)
        # The client address, as the throttle and the audit log see it.
        http.post("/v1/sessions", json={"email": ADMIN["email"], "password": "wrong"}, headers=claimed)
        [row] = query(fresh_database, "select details from audits where action = 'user.signin.failure'")
        assert json.loads(row["details"])["address"] == ("203.0.113.9" if trusted else "127.0.0.1")
