"""A TCP proxy in a background thread, in front of PostgreSQL, that a test can cut to simulate an outage."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit, urlunsplit

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["TcpProxy", "proxied_url"]


class TcpProxy:
    def __init__(self, target_url: str, port: int) -> None:
        self.port = port
        parts = urlsplit(target_url)
        socket_dir = parse_qs(parts.query).get("host", [None])[0]
        target_port = parts.port or 5432
        if socket_dir:
            path = f"{socket_dir}/.s.PGSQL.{target_port}"
            self._open: Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = lambda: (
                asyncio.open_unix_connection(path)
            )
        else:
            host = parts.hostname or "127.0.0.1"
            self._open = lambda: asyncio.open_connection(host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop(self) -> None:
        """Refuse new connections and cut every open one, as a crashed database would."""
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        # Let aborted transports finish closing their sockets before the loop goes.
        self._loop.run_until_complete(asyncio.sleep(0.05))
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await self._open()
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self._writers -= {writer, upstream_writer}


def proxied_url(database_url: str, port: int) -> str:
    """The same database, reached through the proxy on 127.0.0.1:port."""
    parts = urlsplit(database_url)
    user = parts.username or "postgres"
    return urlunsplit(("postgresql", f"{user}@127.0.0.1:{port}", parts.path, "", ""))
