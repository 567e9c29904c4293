"""Request bodies under a limit: refused from the declared Content-Length before a byte is read, cut off (413) as
soon as they pass the limit while streaming, and a client that goes away mid-body is told apart from one that
finished (a phone on 3G dropping the connection must not look like an empty upload).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from service.errors import Problem

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar import Request

__all__ = ["ClientDisconnected", "check_declared_length", "declared_length", "read_body", "stream_body"]


class ClientDisconnected(Exception):
    """The client went away mid-body; nothing was stored, and its retry will send everything again."""


def declared_length(request: Request[Any, Any, Any]) -> int:
    """The Content-Length the client announced; 0 when it sent none (chunked) or nonsense."""
    declared = request.headers.get("content-length", "")
    return int(declared) if declared.isdigit() and len(declared) <= 18 else 0


def check_declared_length(request: Request[Any, Any, Any], limit: int) -> None:
    """Refuse before reading: a rejected 10 MB upload over 3G should cost the phone nothing."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise Problem.too_large(limit)


async def stream_body(request: Request[Any, Any, Any], limit: int) -> AsyncIterator[bytes]:
    """The raw body, chunk by chunk, as the server receives it."""
    check_declared_length(request, limit)
    total = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk: bytes = message.get("body", b"")  # type: ignore[assignment]
        if chunk:
            total += len(chunk)
            if total > limit:
                raise Problem.too_large(limit)
            yield chunk
        if not message.get("more_body", False):
            return


async def read_body(request: Request[Any, Any, Any], limit: int) -> bytes:
    """The whole body in memory — for small uploads only (form definitions)."""
    body = bytearray()
    async for chunk in stream_body(request, limit):
        body += chunk
    return bytes(body)
