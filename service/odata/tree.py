"""The form's fields as OData sees them: a tree of groups, repeats and values under the primary instance's root,
with identifiers sanitised as Central does (lib/util/util.js sanitizeOdataIdentifier).

Built once per published form version (cached by version id and XForm md5) and shared by $metadata, the service
document and the row shaper.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from service.errors import Problem

if TYPE_CHECKING:
    from service.forms.schema import FormSchema

__all__ = ["Node", "Tree", "sanitize", "tree_for"]

_LEADING = re.compile(r"^([^a-z_])", re.IGNORECASE)
_INVALID = re.compile(r"([^a-z0-9_]+)", re.IGNORECASE)


def sanitize(name: str) -> str:
    """An OData identifier from an XML name: a leading non-letter gets `_` before it, other runs become `_`."""
    return _INVALID.sub("_", _LEADING.sub(r"_\1", name))


class Node:
    """A field, group or repeat. `parts` are the sanitised names from the root's first child down to it."""

    __slots__ = (
        "binary",
        "children",
        "geo",
        "kind",
        "name",
        "out",
        "parent",
        "parts",
        "path",
        "select_multiple",
        "type",
    )

    def __init__(
        self,
        *,
        name: str,
        path: str,
        kind: str,
        type: str,
        select_multiple: bool = False,
        binary: bool = False,
        parent: Node | None = None,
    ) -> None:
        self.name = name
        self.out = sanitize(name)
        self.path = path
        self.kind = kind
        self.type = type
        self.select_multiple = select_multiple
        self.binary = binary
        self.geo = type in {"geopoint", "geotrace", "geoshape"}
        self.parent = parent
        self.parts: tuple[str, ...] = (*parent.parts, self.out) if parent is not None else ()
        self.children: list[Node] = []

    @property
    def structural(self) -> bool:
        return self.kind in {"group", "repeat"}

    def enclosing_repeat(self) -> Node | None:
        node = self.parent
        while node is not None and node.kind != "repeat":
            node = node.parent
        return node

    def chain(self) -> list[Node]:
        """The structural nodes from the root's first level down to this one (the root itself excluded)."""
        nodes: list[Node] = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            nodes.append(node)
            node = node.parent
        return nodes[::-1]

    @property
    def table(self) -> str:
        """`Submissions` for the root, `Submissions.<dotted parts>` for a repeat."""
        return ".".join(("Submissions", *self.parts))

    @property
    def parent_key(self) -> str:
        """A repeat row's reference to its parent row: `__Submissions-id`, or `__Submissions-<parts>-id` under
        another repeat."""
        enclosing = self.enclosing_repeat()
        parts = ("Submissions", *(enclosing.parts if enclosing is not None else ()))
        return f"__{'-'.join(parts)}-id"


class Tree:
    def __init__(self, schema: FormSchema) -> None:
        self.xml_form_id = schema.xml_form_id
        self.root = Node(name=schema.root, path=f"/{schema.root}", kind="group", type="structure")
        by_path = {self.root.path: self.root}
        for field in schema.fields:
            parent_path, _, _ = field.path.rpartition("/")
            parent = by_path.get(parent_path)
            if parent is None:  # pragma: no cover - parse_xform lists parents before children
                continue
            node = Node(
                name=field.name,
                path=field.path,
                kind=field.kind,
                type=field.type,
                select_multiple=field.select_multiple,
                binary=field.binary,
                parent=parent,
            )
            parent.children.append(node)
            by_path[field.path] = node
        self.nodes = list(by_path.values())[1:]
        self.repeats = [node for node in self.nodes if node.kind == "repeat"]
        self.tables = {node.table: node for node in self.repeats}
        # Row plans for this version (rows.plan_for), built on first use.
        self.plans: dict[object, Any] = {}

    def table(self, name: str) -> Node:
        """The root (`Submissions`) or the repeat a table name names; 404 otherwise."""
        if name == "Submissions":
            return self.root
        node = self.tables.get(name)
        if node is None:
            raise Problem.not_found("table")
        return node

    def walk(self, names: list[str]) -> Node:
        """The repeat that a navigation path names (`Submissions('…')/group/repeat`); 404 otherwise."""
        node = self.root
        for name in names:
            found = next((child for child in node.children if child.out == name and child.structural), None)
            if found is None:
                raise Problem.not_found("table")
            node = found
        if node is not self.root and node.kind != "repeat":
            raise Problem.not_found("table")
        return node


_CACHE: dict[tuple[int, str], Tree] = {}


def tree_for(version_id: int, xml_md5: str, schema: FormSchema) -> Tree:
    key = (version_id, xml_md5)
    tree = _CACHE.get(key)
    if tree is None:
        if len(_CACHE) >= 256:
            _CACHE.clear()
        tree = _CACHE[key] = Tree(schema)
    return tree
