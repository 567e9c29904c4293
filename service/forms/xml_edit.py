"""Small, safe edits of an XForm: setting the version on the primary instance root.

Used when an uploaded XForm has no version (we fill one deterministically) and when a draft is published with
`?version=`. The edited document is what gets stored and served, so its md5 stays the one the form list shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.safexml import children, local_name, parse_untrusted, serialize

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["set_instance_version"]


def set_instance_version(xml: str, version: str) -> str:
    root = parse_untrusted(xml.encode("utf-8"))
    instance_root = _primary_instance_root(root)
    if instance_root is None:
        raise ValueError("the form has no primary instance")
    instance_root.set("version", version)
    for name in list(instance_root.attrib):
        # An orx:version would shadow the plain attribute for some readers; keep exactly one.
        if name != "version" and local_name(name) == "version":
            del instance_root.attrib[name]
    return serialize(root)


def _primary_instance_root(root: etree._Element) -> etree._Element | None:
    for head in children(root, "head"):
        for model in children(head, "model"):
            for instance in children(model, "instance"):
                return next(children(instance), None)
    return None
