"""Settings from the environment (secrets masked), and logs that carry a request id and hide tokens."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from service.logs import JsonFormatter, redact_path, request_id
from service.settings import Settings, SettingsError

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient


def test_settings_come_from_the_environment_with_types() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://u:secret-password@db/survey",
            "PORT": "9000",
            "MEDIA_BACKEND": "s3",
            "S3_SECRET_ACCESS_KEY": "s3-secret",
            "MEDIA_ROOT": "/srv/media",
            "ALLOW_BASIC_OVER_HTTP": "true",
            "UNRELATED": "ignored",
        }
    )
    assert settings.port == 9000
    assert settings.media_root == Path("/srv/media")
    assert settings.allow_basic_over_http is True
    shown = repr(settings)
    assert "secret-password" not in shown
    assert "s3-secret" not in shown
    assert "port=9000" in shown


@pytest.mark.parametrize(("name", "value"), [("PORT", "eighty"), ("MEDIA_BACKEND", "ftp"), ("LOG_FORMAT", "xml")])
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_public_origin() -> None:
    assert Settings(host="0.0.0.0", port=80).origin == "http://0.0.0.0:80"  # noqa: S104
    assert Settings(public_url="https://survey.example.org/").origin == "https://survey.example.org"


def test_app_user_tokens_never_reach_the_logs() -> None:
    assert redact_path("/v1/key/AbC-123_x/projects/1/submission") == "/v1/key/[redacted]/projects/1/submission"


def test_json_log_lines_carry_the_request_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("test.json")
    log.addHandler(handler)
    log.propagate = False
    token = request_id.set("abc123")
    try:
        log.warning("stored", extra={"submission": 7})
    finally:
        request_id.reset(token)
        log.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert (line["message"], line["request_id"], line["submission"], line["level"]) == (
        "stored",
        "abc123",
        7,
        "warning",
    )


async def test_request_ids_are_echoed_or_made(client: AsyncTestClient[Litestar]) -> None:
    from service.logs import AccessLogMiddleware

    wrapped = AccessLogMiddleware(client.app)
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/healthz",
        "raw_path": b"/healthz",
        "query_string": b"",
        "headers": [(b"x-request-id", b"phone-42")],
        "app": client.app,
        "state": {},
    }
    await wrapped(scope, receive, send)  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert (b"x-request-id", b"phone-42") in start["headers"]  # type: ignore[operator]


class _Terminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(("tty", "expect_json"), [(True, False), (False, True)])
def test_auto_log_format_is_readable_on_a_terminal_and_json_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tty: bool, expect_json: bool
) -> None:
    from service.logs import configure_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = _Terminal(tty)
    monkeypatch.setattr("sys.stderr", stream)
    try:
        configure_logging("INFO", "auto")
        logging.getLogger("test.auto").info("hello", extra={"count": 3})
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    line = stream.getvalue().strip()
    if expect_json:
        assert json.loads(line)["message"] == "hello"
    else:
        assert "info    test.auto: hello [count=3]" in line
        assert not line.startswith("{")
