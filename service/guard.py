"""Bounds on what one client can make a worker hold: the request head (size, header count, time to arrive), the
request body (a minimum rate), and the number of open connections (uvicorn's `limit_concurrency`, set in
`__main__._serve`).

Two layers, because the head must be bounded before any app code runs and the body is best judged where the app
reads it:

- `GuardedHttpToolsProtocol` is uvicorn's httptools protocol with the head checks that neither uvicorn nor
  httptools has (llhttp has no header size limit and httptools joins a header value with `+=`, so a 48 MiB header
  line is read, copied and answered). It counts head bytes as they arrive, counts header lines, and times the
  head from the moment the connection opens or the previous response ends. A refused head gets 431, 414 or 408 and
  the connection is closed after a short, bounded linger so the client can read the answer.
- `BodyGuard` is ASGI middleware around `receive`: once the app starts reading a body, in every window of
  `body_window_s` seconds at least `body_min_bytes_per_s * body_window_s` bytes must arrive, and the body may not
  stall for a whole window. Otherwise the app is told the client went away (so the upload is discarded as any
  broken upload is, spool files included) and the client gets 408 with `Connection: close`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import httptools
import msgspec
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from service.logs import redact_path

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send
    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle
    from uvicorn.server import ServerState

    from service.settings import Settings

__all__ = ["BodyGuard", "GuardedHttpToolsProtocol", "HeadLimits"]

log = logging.getLogger(__name__)

# After refusing a head, keep reading (and dropping) what the client already sent for this long, or this many
# bytes, so that it can read the refusal instead of a connection reset; then close.
_LINGER_S = 1.0
_LINGER_BYTES = 1024 * 1024


class HeadLimits(msgspec.Struct, frozen=True):
    """What the protocol enforces before a request reaches the app."""

    max_header_bytes: int
    max_header_count: int
    header_timeout_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> HeadLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            max_header_count=settings.max_header_count,
            header_timeout_s=settings.header_timeout_s,
        )


class _Refused(Exception):
    """Raised from a parser callback; httptools turns it into HttpParserCallbackError."""


def _plain_response(status: int, text: str) -> bytes:
    body = text.encode()
    return b"".join(
        [
            STATUS_LINE[status],
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded request head. Pass as `http=partial(…, limits=…)`."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HeadLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._in_head = False  # a request has begun and its head is not complete yet
        self._head_bytes = 0  # head bytes seen in whole chunks (the chunk where the head began is not counted)
        self._head_fields = 0  # request line + header bytes as the parser reports them (exact once reported)
        self._header_count = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refusal: tuple[int, str] | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._linger_budget = 0

    # Connection life

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._linger is not None:  # refused: drop what is still in flight, within a budget
            self._linger_budget -= len(data)
            if self._linger_budget < 0:
                self.transport.close()
            return
        head_continues = self._in_head
        self._unset_keepalive_if_required()
        # uvicorn's own handling of parser errors and upgrades, plus our refusals from the parser callbacks.
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse(*self._refusal)
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if head_continues and self._in_head:
            # The whole chunk belonged to an unfinished head: a long header line is still arriving.
            self._head_bytes += len(data)
            if max(self._head_bytes, self._head_fields) > self.limits.max_header_bytes:
                self._refuse(431, "The request head is too large.")

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = self._head_fields = self._header_count = 0

    def on_url(self, url: bytes) -> None:
        # The parser hands the URL over in pieces as it arrives, so an endless one is caught here (414) too.
        if len(self.url) + len(url) > self.limits.max_header_bytes:
            self._refusal = (414, "The request URL is too long.")
            raise _Refused
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_header_count:
            self._refusal = (431, "The request has too many header fields.")
            raise _Refused
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next head (or the rest of a body the app did not read) must arrive in time too.
        if not self.transport.is_closing() and not self.pipeline:
            self._arm_head_timer()

    # Helpers

    def _count_head(self, size: int) -> None:
        self._head_fields += size
        if self._head_fields > self.limits.max_header_bytes:
            self._refusal = (431, "The request head is too large.")
            raise _Refused

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._in_head:
            self._refuse(408, "The request head did not arrive in time.")
        else:  # an idle connection, or the unread rest of a body after its response: nothing to answer
            self.transport.close()

    def _refuse(self, status: int, reason: str) -> None:
        self._cancel_head_timer()
        self._unset_keepalive_if_required()
        self._in_head = False
        log.warning("request refused", extra={"status": status, "reason": reason})
        cycle: RequestResponseCycle | None = self.cycle  # None until the first head is complete
        if cycle is not None and not cycle.response_complete:
            # A pipelined head went wrong while an earlier response is still being written: just hang up.
            self.transport.close()
            return
        self.transport.write(_plain_response(status, reason))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._linger_budget = _LINGER_BYTES
        self._linger = self.loop.call_later(_LINGER_S, self.transport.close)


class _BodyClock:
    """Per request: wraps `receive` and `send` to enforce the minimum body rate.

    One timer per request, not one per `receive()`: it is only moved when it fires early (the deadline moved on
    as data arrived), and it interrupts the app only while the app is waiting in our `receive()` (the pattern
    of `asyncio.timeout`, without its per-call set-up on the upload path)."""

    __slots__ = (
        "_receive",
        "_send",
        "cut",
        "done",
        "expired",
        "idle_until",
        "need",
        "replaced",
        "started",
        "timer",
        "waiter",
        "window",
        "window_bytes",
        "window_end",
    )

    def __init__(self, receive: Receive, send: Send, window: float, min_rate: int) -> None:
        self._receive = receive
        self._send = send
        self.window = window
        self.need = min_rate * window
        self.window_end = 0.0  # set by the first receive()
        self.window_bytes = 0
        self.idle_until = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.waiter: asyncio.Task[Any] | None = None  # the app's task while it waits in receive()
        self.expired = False  # the timer cancelled the waiter
        self.cut: str | None = None
        self.done = False
        self.started = False
        self.replaced = False

    async def receive(self) -> ReceiveMessage:
        if self.cut is not None:
            return {"type": "http.disconnect"}
        if self.done:  # the body is complete; waiting for a disconnect is not bounded here
            return await self._receive()
        loop = asyncio.get_running_loop()
        if not self.window_end:
            self.window_end = self.idle_until = loop.time() + self.window
        while True:
            if self.timer is None:
                self.timer = loop.call_at(min(self.window_end, self.idle_until), self._deadline)
            message: ReceiveMessage | None = None
            self.waiter = waiter = asyncio.current_task()
            try:
                message = await self._receive()
            except asyncio.CancelledError:
                if not self._cancelled_by_timer(waiter):
                    raise
            finally:
                self.waiter, self.expired = None, False
            verdict = self._account(message, loop.time())
            if verdict is not None:
                if self._finished():
                    self.close()
                return verdict

    def _finished(self) -> bool:
        return self.done or self.cut is not None

    def _cancelled_by_timer(self, waiter: asyncio.Task[Any] | None) -> bool:
        """Only if the timer did it and nobody else cancelled the task as well."""
        return self.expired and (waiter is None or waiter.uncancel() == 0)

    def _deadline(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = min(self.window_end, self.idle_until)
        if loop.time() < deadline:  # data arrived since the timer was set: the deadline moved on
            self.timer = loop.call_at(deadline, self._deadline)
            return
        self.timer = None
        if self.waiter is not None:
            self.expired = True
            self.waiter.cancel()
        # Otherwise the app is busy with what it received; its next receive() judges the window.

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _account(self, message: ReceiveMessage | None, now: float) -> ReceiveMessage | None:
        """The message to hand the app, or None to keep waiting (a window passed while nothing arrived)."""
        if message is not None:
            if message["type"] != "http.request":
                return message
            size = len(message.get("body", b""))
            if size:
                self.window_bytes += size
                self.idle_until = now + self.window
            if not message.get("more_body", False):
                self.done = True
                return message
        elif now >= self.idle_until:
            return self._cut("no body data arrived for a whole window")
        if now >= self.window_end:
            if self.window_bytes < self.need:
                return self._cut("the body arrived below the minimum rate")
            self.window_end, self.window_bytes = now + self.window, 0
        return message

    def _cut(self, reason: str) -> ReceiveMessage:
        self.cut = reason
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.cut is None or (self.started and not self.replaced):
            if message["type"] == "http.response.start":
                self.started = True
            await self._send(message)
            return
        # The app answers the disconnect we made up; the client gets 408 and the connection is closed.
        if message["type"] == "http.response.start" and not self.started:
            self.started = self.replaced = True
            await self._send(
                {
                    "type": "http.response.start",
                    "status": 408,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(_SLOW_BODY)).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await self._send({"type": "http.response.body", "body": _SLOW_BODY, "more_body": False})


_SLOW_BODY = b"The request body arrived too slowly; the connection was closed. Please send it again."


class BodyGuard:
    """ASGI middleware: a request body must keep arriving (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, window_s: float, min_bytes_per_s: int) -> None:
        self.app = app
        self.window_s = window_s
        self.min_bytes_per_s = min_bytes_per_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http":
            await self.app(scope, receive, send)
            return
        clock = _BodyClock(receive, send, self.window_s, self.min_bytes_per_s)
        try:
            await self.app(scope, clock.receive, clock.send)
        finally:
            clock.close()
            if clock.cut is not None:
                log.warning(
                    "request body cut",
                    extra={
                        "reason": clock.cut,
                        "method": scope.get("method"),
                        "path": redact_path(scope.get("path", "")),
                    },
                )
