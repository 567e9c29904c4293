"""Submission XML shaped like JavaRosa's serializer writes it, and received-submission builders."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from collections.abc import Sequence

    from service.media.store import MediaStore
    from service.openrosa.multipart import ReceivedSubmission

__all__ = ["new_instance_id", "received", "submission_xml"]

_NAMESPACES = (
    'xmlns:h="http://www.w3.org/1999/xhtml" xmlns:jr="http://openrosa.org/javarosa" '
    'xmlns:orx="http://openrosa.org/xforms" xmlns:odk="http://www.opendatakit.org/xforms" '
    'xmlns:ev="http://www.w3.org/2001/xml-events" xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
)


def new_instance_id() -> str:
    return f"uuid:{uuid.uuid4()}"


def submission_xml(
    *,
    form_id: str = "household",
    version: str = "1",
    instance_id: str | None = None,
    deprecated_id: str | None = None,
    head: str = "Nguyễn Văn A",
    size: int | str = 4,
    gps: str = "16.2154 107.2931 560.0 4.5",
    photos: Sequence[str | None] = ("1732460000001.jpg", "1732460000002.jpg"),
) -> bytes:
    """An instance of the SIMPLE_SURVEY test form (tests/support/xlsform.py)."""
    instance_id = instance_id or new_instance_id()
    front, roof = ([*list(photos), None, None])[:2]
    deprecated = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    return (
        f'<data id="{form_id}" version="{version}" {_NAMESPACES}>'
        f"<hh_name>{escape(head)}</hh_name><hh_size>{size}</hh_size><hh_gps>{gps}</hh_gps>"
        f"<photo_front>{front or ''}</photo_front><photo_roof>{roof or ''}</photo_roof>"
        f"<meta><instanceID>{instance_id}</instanceID>{deprecated}"
        f"<instanceName>{escape(head)}</instanceName></meta></data>"
    ).encode()


def received(store: MediaStore, xml: bytes, files: Sequence[tuple[str, bytes]]) -> ReceivedSubmission:
    """What the multipart reader hands to ingest: the XML and spooled (hashed, not yet stored) files."""
    from service.openrosa.multipart import ReceivedFile, ReceivedSubmission

    parts = {}
    for name, data in files:
        spool = store.spool(limit=100 * 1024 * 1024)
        spool.write(data)
        parts[name] = ReceivedFile(name=name, declared_type="image/jpeg", spool=spool, info=spool.finish())
    return ReceivedSubmission(xml=xml, files=parts)
