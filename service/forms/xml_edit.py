"""Small, safe edits of an XForm: setting the version on the primary instance root.

Used when an uploaded XForm has no version (we fill one deterministically) and when a draft is published with
`?version=`. The edited document is what gets stored and served, so its md5 stays the one the form list shows.
"""

from __future__ import annotations

from lxml import etree

__all__ = ["set_instance_version"]

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def set_instance_version(xml: str, version: str) -> str:
    root = etree.fromstring(xml.encode("utf-8"), _PARSER)
    instance_root = _primary_instance_root(root)
    if instance_root is None:
        raise ValueError("the form has no primary instance")
    instance_root.set("version", version)
    for name in list(instance_root.attrib):
        # An orx:version would shadow the plain attribute for some readers; keep exactly one.
        if name != "version" and etree.QName(name).localname == "version":
            del instance_root.attrib[name]
    return etree.tostring(root, xml_declaration=True, encoding="utf-8").decode("utf-8")


def _primary_instance_root(root: etree._Element) -> etree._Element | None:
    for head in _elements(root, "head"):
        for model in _elements(head, "model"):
            for instance in _elements(model, "instance"):
                return next(iter(instance.iterchildren(tag=etree.Element)), None)
    return None


def _elements(parent: etree._Element, local_name: str) -> list[etree._Element]:
    return [child for child in parent.iterchildren(tag=etree.Element) if etree.QName(child).localname == local_name]
