"""Receive a Collect submission body as a stream: the XML part in memory (capped), every file part spooled
to the media store's spool folder while it is hashed, nothing else buffered.

Collect's layout (OkHttp MultipartBody): `xml_submission_file` first, then one part per file whose name and
filename are the file's base name, maybe a `*isIncomplete*` part when it split the submission. Names are raw
UTF-8. Part names are data; one that looks like a path is refused before a byte of it is stored.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

import msgspec
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from service.errors import Problem
from service.media.store import BlobInfo, SpoolFile
from service.submissions.xml import valid_file_name

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from service.media.store import MediaStore

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
    boundary: str | None = options.get("boundary")
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


class _Sink:
    """Routes the parser's events: the XML part and small fields to memory (capped), files to spool files."""

    def __init__(self, store: MediaStore, limits: _Limits, received: ReceivedSubmission) -> None:
        self.store = store
        self.limits = limits
        self.received = received
        self.xml = bytearray()
        self.saw_xml = False
        self.field = bytearray()
        self.name = ""
        self.file: ReceivedFile | None = None
        self.buffer: bytearray | None = None
        self.cap = 0

    def start(self, segment: MultipartSegment) -> None:
        self.name = segment.name or ""
        self.file, self.buffer, self.cap = None, None, 0
        if self.name == XML_PART:
            self.saw_xml, self.buffer, self.cap = True, self.xml, self.limits.xml_bytes
        elif self.name == INCOMPLETE_PART:
            self.field.clear()
            self.buffer, self.cap = self.field, 1024
        else:
            # Every other part is a file named by its part name, with or without a filename (as Central reads
            # them); parts the XML does not reference are dropped later.
            self.file = _start_file(segment, self.store, self.limits, self.received)

    def data(self, chunk: bytes) -> None:
        if self.file is not None:
            self.file.spool.write(chunk)
        elif self.buffer is not None:
            self.buffer += chunk
            if len(self.buffer) > self.cap:
                raise Problem.too_large(self.cap)

    def end(self) -> None:
        if self.file is not None:
            self.file.info = self.file.spool.finish()
            self.file = None
        elif self.name == INCOMPLETE_PART:
            self.received.incomplete = bytes(self.field).strip().lower() in {b"yes", b"true"}


async def _parse(
    chunks: AsyncIterator[bytes], boundary: str, store: MediaStore, limits: _Limits, received: ReceivedSubmission
) -> None:
    sink = _Sink(store, limits, received)
    try:
        with PushMultipartParser(boundary, max_segment_count=limits.parts, header_charset="utf-8") as parser:
            async for chunk in chunks:
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        sink.start(event)
                    elif event:
                        sink.data(event)
                    else:
                        sink.end()
    except MultipartError as exc:
        raise Problem.unparseable("multipart/form-data", str(exc)) from None
    if not sink.saw_xml or not sink.xml:
        raise Problem.missing_multipart_field(XML_PART)
    received.xml = bytes(sink.xml)


def _start_file(
    segment: MultipartSegment, store: MediaStore, limits: _Limits, received: ReceivedSubmission
) -> ReceivedFile:
    # Central (and Collect) use the part name as the file name; fall back to filename for other clients. Names are
    # compared in NFC: a phone may send "nhà.jpg" decomposed (NFD) while its XML has it composed.
    name = unicodedata.normalize("NFC", segment.name or segment.filename or "")
    if not valid_file_name(name) or (segment.filename and not valid_file_name(segment.filename)):
        raise Problem.unsafe_file_name(name)
    previous = received.files.pop(name, None)
    if previous is not None:
        previous.spool.discard()
    file = ReceivedFile(name=name, declared_type=segment.content_type, spool=store.spool(limit=limits.file_bytes))
    received.files[name] = file
    return file
