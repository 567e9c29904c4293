"""Debian's Chromium driven by Playwright, for the review site's tests: one browser per test module, owned by one
thread (Playwright's sync API must not run inside the tests' event loop), and pages measured as they load.

Never downloads a browser: `executable_path` is the system's chromium (the Makefile's `test` target installs it).
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from playwright.sync_api import sync_playwright

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Request, Response

__all__ = ["ARTIFACTS", "CHROMIUM", "PHONE", "BrowserThread", "Traffic", "add_to_artifact", "save_artifact"]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts"
T = TypeVar("T")


class BrowserThread:
    """A Chromium that lives on its own thread; `await run(steps)` runs `steps(browser)` there."""

    def __init__(self) -> None:
        if not Path(CHROMIUM).exists():
            raise RuntimeError(
                f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)"
            )
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright: Playwright | None = None
        self.browser: Browser = self._thread.submit(self._start).result()

    def _start(self) -> Browser:
        self._playwright = sync_playwright().start()
        return self._playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)

    async def run(self, steps: Callable[[Browser], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, steps, self.browser)

    def close(self) -> None:
        def stop() -> None:
            self.browser.close()
            if self._playwright is not None:
                self._playwright.stop()

        self._thread.submit(stop).result()
        self._thread.shutdown()


class Traffic:
    """Every request a context makes (to prove nothing leaves the server), and the bytes of each finished response
    (to weigh pages: HTML + CSS + JS, photos apart)."""

    def __init__(self, context: BrowserContext, origin: str) -> None:
        self.origin = origin
        self.urls: list[str] = []
        self.failed: list[str] = []
        self.sizes: list[tuple[str, str, int]] = []  # (resource type, url, bytes on the wire)
        context.on("request", self._request)
        context.on("requestfinished", self._finished)
        context.on("requestfailed", lambda request: self.failed.append(request.url))

    def _request(self, request: Request) -> None:
        self.urls.append(request.url)

    def _finished(self, request: Request) -> None:
        sizes = request.sizes()
        transferred = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        self.sizes.append((request.resource_type, request.url, transferred))

    def elsewhere(self) -> list[str]:
        """Requests to anywhere but the server (data: URLs are not requests to anyone)."""
        return [url for url in self.urls if not url.startswith((self.origin, "data:"))]

    def weigh(self, page: Page, url: str) -> tuple[int, dict[str, int]]:
        """Load `url` in `page` with an empty cache; (bytes of HTML + CSS + JS, bytes by resource type)."""
        self.sizes.clear()
        response: Response | None = page.goto(url, wait_until="load")
        assert response is not None
        page.wait_for_load_state("networkidle")
        by_type: dict[str, int] = {}
        for kind, _, size in self.sizes:
            by_type[kind] = by_type.get(kind, 0) + size
        before_photos = sum(size for kind, size in by_type.items() if kind not in {"image", "media"})
        return before_photos, by_type


def save_artifact(name: str, data: bytes | dict[str, Any]) -> Path:
    """A file under .artifacts/ (git-ignored) for people to look at after a run."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    if isinstance(data, dict):
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def add_to_artifact(name: str, entries: dict[str, Any]) -> Path:
    """Adds entries to a JSON artifact another test may have written in this run (page weights of several pages)."""
    path = ARTIFACTS / name
    found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return save_artifact(name, {**found, **entries})
