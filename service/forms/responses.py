"""Responses shared by the forms API and the OpenRosa endpoints: XForms with ETags, streamed media downloads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Response
from litestar.response import Stream

from service.downloads import content_disposition

from . import reading

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar import Request

    from service.auth.access import Access
    from service.resources import Resources

__all__ = ["attachment_response", "download", "xml_response"]


def xml_response(xml: str, md5: str, request: Request[Any, Any, Any]) -> Response[bytes]:
    etag = f'"{md5}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=xml.encode("utf-8"), media_type="application/xml", headers=headers)


def download(content_type: str, stream: AsyncIterator[bytes], filename: str, **headers: str) -> Stream:
    return Stream(
        content=stream,
        media_type=content_type,
        headers={
            "Content-Disposition": content_disposition("attachment", filename),
            "X-Content-Type-Options": "nosniff",
            **headers,
        },
    )


async def attachment_response(
    request: Request[Any, Any, Any],
    res: Resources,
    access: Access,
    xml_form_id: str,
    name: str,
    which: str,
) -> Response[bytes] | Stream:
    content_type, md5, size, stream = await reading.read_attachment(res, access, xml_form_id, name, which)
    etag = f'"{md5}"'
    if request.headers.get("if-none-match") == etag:
        await stream.aclose()  # type: ignore[attr-defined]
        return Response(content=b"", status_code=304, headers={"ETag": etag})
    return download(
        content_type,
        stream,
        name,
        ETag=etag,
        **{"Content-Length": str(size), "Cache-Control": "private, no-cache"},
    )
