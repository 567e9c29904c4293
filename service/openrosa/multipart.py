"""Receive a Collect submission body as a stream: the XML part in memory (capped), every file part spooled
to the media store's spool folder while it is hashed, nothing else buffered.

Collect's layout (OkHttp MultipartBody): `xml_submission_file` first, then one part per file whose name and
filename are the file's base name, maybe a `*isIncomplete*` part when it split the submission. Names are raw
UTF-8. Part names are data; one that looks like a path is refused before a byte of it is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from service.errors import Problem
from service.submissions.xml import valid_file_name

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.media.store import BlobInfo, MediaStore, SpoolFile

__all__ = ["ReceivedFile", "ReceivedSubmission", "receive_submission"]

XML_PART = "xml_submission_file"
INCOMPLETE_PART = "*isIncomplete*"


class ReceivedFile(msgspec.Struct):
    name: str
    declared_type: str | None
    spool: SpoolFile
    info: BlobInfo | None = None


class ReceivedSubmission(msgspec.Struct):
    xml: bytes
    files: dict[str, ReceivedFile]
    incomplete: bool = False

    def discard(self) -> None:
        for received in self.files.values():
            received.spool.discard()
        self.files.clear()


class _Limits(msgspec.Struct, frozen=True):
    xml_bytes: int
    file_bytes: int
    parts: int


def _boundary(content_type: str | None) -> str:
    media_type, options = parse_options_header(content_type or "")
    boundary = options.get("boundary")
    if media_type != "multipart/form-data" or not boundary:
        raise Problem.missing_multipart_field(XML_PART)
    return boundary


async def receive_submission(
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    store: MediaStore,
    *,
    max_xml_bytes: int,
    max_file_bytes: int,
    max_parts: int = 250,
) -> ReceivedSubmission:
    """Parse the body; on any failure every spooled file is removed before the exception propagates."""
    limits = _Limits(xml_bytes=max_xml_bytes, file_bytes=max_file_bytes, parts=max_parts)
    received = ReceivedSubmission(xml=b"", files={})
    try:
        await _parse(chunks, _boundary(content_type), store, limits, received)
    except BaseException:
        received.discard()
        raise
    return received


async def _parse(
    chunks: AsyncIterator[bytes], boundary: str, store: MediaStore, limits: _Limits, received: ReceivedSubmission
) -> None:
    xml = bytearray()
    saw_xml = False
    small = bytearray()
    current: ReceivedFile | None = None
    target: bytearray | None = None
    cap = 0
    part_name = ""
    try:
        with PushMultipartParser(boundary, max_segment_count=limits.parts, header_charset="utf-8") as parser:
            async for chunk in chunks:
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        part_name = event.name or ""
                        current, target, cap = None, None, 0
                        if part_name == XML_PART:
                            saw_xml, target, cap = True, xml, limits.xml_bytes
                        elif event.filename is None:
                            small.clear()
                            target, cap = small, 1024
                        else:
                            current = _start_file(event, store, limits, received)
                    elif event:
                        if current is not None:
                            current.spool.write(event)
                        elif target is not None:
                            target += event
                            if len(target) > cap:
                                raise Problem.too_large(cap)
                    elif current is not None:
                        current.info = current.spool.finish()
                        current = None
                    elif part_name == INCOMPLETE_PART:
                        received.incomplete = small.strip().lower() in {b"yes", b"true"}
    except MultipartError as exc:
        raise Problem.unparseable("multipart/form-data", str(exc)) from None
    if not saw_xml or not xml:
        raise Problem.missing_multipart_field(XML_PART)
    received.xml = bytes(xml)


def _start_file(
    segment: MultipartSegment, store: MediaStore, limits: _Limits, received: ReceivedSubmission
) -> ReceivedFile:
    # Central (and Collect) use the part name as the file name; fall back to filename for other clients.
    name = segment.name or segment.filename or ""
    if not valid_file_name(name) or (segment.filename and not valid_file_name(segment.filename)):
        raise Problem.unsafe_file_name(name)
    previous = received.files.pop(name, None)
    if previous is not None:
        previous.spool.discard()
    file = ReceivedFile(
        name=name, declared_type=segment.content_type, spool=store.spool(limit=limits.file_bytes)
    )
    received.files[name] = file
    return file
