"""Every OpenRosa XML document we send: form list, manifest, and the OpenRosaResponse message.

Collect's parsers are strict about a few things (see docs/openrosa.md §2, §4): the namespaces, `md5:` in front of
every hash, absolute URLs, and a `<message>` element without a prefix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from collections.abc import Iterable

    from service.forms.models import CollectForm

__all__ = ["form_list", "manifest", "message"]

_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def form_list(forms: Iterable[CollectForm], base_url: str) -> bytes:
    items = []
    for form in forms:
        form_url = f"{base_url}/forms/{quote(form.xml_form_id, safe='')}"
        manifest_line = f"<manifestUrl>{escape(form_url)}/manifest</manifestUrl>" if form.has_media else ""
        items.append(
            "<xform>"
            f"<formID>{escape(form.xml_form_id)}</formID>"
            # A blank name would make Collect reject the whole list; fall back to the id.
            f"<name>{escape(form.title or form.xml_form_id)}</name>"
            f"<version>{escape(form.version)}</version>"
            f"<hash>md5:{form.xml_md5}</hash>"
            f"<downloadUrl>{escape(form_url)}.xml</downloadUrl>"
            f"{manifest_line}"
            "</xform>"
        )
    body = "".join(items)
    return f'{_HEAD}<xforms xmlns="http://openrosa.org/xforms/xformsList">{body}</xforms>'.encode()


def manifest(files: Iterable[tuple[str, str]], form_url: str) -> bytes:
    """`files` are (file name, md5 hex) of the media that have content."""
    entries = "".join(
        "<mediaFile>"
        f"<filename>{escape(name)}</filename>"
        f"<hash>md5:{md5}</hash>"
        f"<downloadUrl>{escape(form_url)}/attachments/{escape(quote(name, safe=''))}</downloadUrl>"
        "</mediaFile>"
        for name, md5 in files
    )
    return f'{_HEAD}<manifest xmlns="http://openrosa.org/xforms/xformsManifest">{entries}</manifest>'.encode()


def message(text: str, *, error: bool = False) -> bytes:
    nature = "error" if error else ""
    return (
        f'{_HEAD}<OpenRosaResponse xmlns="http://openrosa.org/http/response" items="0">'
        f'<message nature="{nature}">{escape(text)}</message></OpenRosaResponse>'
    ).encode()
