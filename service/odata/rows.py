"""A household's current answers as Central's OData rows (lib/data/odata.js submissionToOData), per table.

The work is split in two so the per-row part stays small:

- `plan_for(tree, table, …)` runs once per (form version, table, $select, $expand, $wkt): it decides which
  answers to read, under which key to write them and how to convert each one, and caches that plan.
- `Plan.rows(household)` applies it to one household: a walk over the plan, reading the stored answers JSON
  (service/submissions/xml.py: groups as objects, repeats as lists, typed values).

Row shape, as Central's: every non-repeat field of the table is present (null when unanswered), groups are nested
objects, repeats appear as `<name>@odata.navigationLink` when the household has an instance of them (and as nested
arrays with `$expand=*`). Values: int → integer, decimal → number, geo → GeoJSON (or WKT with `$wkt=true`),
dateTime with its offset written ±HH:MM, everything else a string (booleans, select-multiple space-separated,
file names). Root rows carry `__id` (the instanceID) and `__system`; repeat rows `__id`
(sha1 of `Submissions#<instanceID>%%<group>#%%<repeat>#<index>…`) and the parent's key
(`__Submissions-id` or `__Submissions-<repeat path>-id`). Encrypted households show only `__id` and `__system`.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec

from service.errors import Problem

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .tree import Node, Tree

__all__ = [
    "Household",
    "Plan",
    "Pruning",
    "SYSTEM_FIELDS",
    "Selection",
    "js_number",
    "plan_for",
    "repeat_id",
    "selection_for",
]

SYSTEM_FIELDS = (
    "submissionDate",
    "updatedAt",
    "deletedAt",
    "submitterId",
    "submitterName",
    "attachmentsPresent",
    "attachmentsExpected",
    "status",
    "reviewState",
    "deviceId",
    "edits",
    "formVersion",
)


class Household(msgspec.Struct, frozen=True):
    """What a row needs from a household (the query's row, service/odata/queries.py)."""

    id: int
    instance_id: str
    submitter_id: int | None
    submitter_name: str | None
    device_id: str | None
    review_state: str | None
    form_version: str
    encrypted: bool
    created_at: datetime
    updated_at: datetime | None
    deleted_at: datetime | None
    attachments_present: int
    attachments_expected: int
    edits: int
    answers: dict[str, Any] | None


# --- values ---------------------------------------------------------------------------------------------------


def js_number(value: float) -> str:
    """A number as JavaScript prints it (560.0 → "560"), for WKT text."""
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


_LEADING_INT = re.compile(r"\s*([+-]?\d+)")
_LEADING_FLOAT = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_SHORT_OFFSET = re.compile(r"[+-]\d\d$")


def _int(value: Any) -> Any:
    if value.__class__ is int:
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):  # kept as sent when it did not read as a number; Central's parseInt
        match = _LEADING_INT.match(value)
        return int(match[1]) if match else None
    return None


def _decimal(value: Any) -> Any:
    if value.__class__ in (int, float) and value is not True and value is not False:
        return value
    if isinstance(value, str):
        match = _LEADING_FLOAT.match(value)
        return float(match[1]) if match else None
    return None


def _text(value: Any) -> Any:
    if value.__class__ is str:
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return js_number(value)
    if isinstance(value, list):
        return " ".join(_text(v) or "" for v in value)
    return None


def _select_multiple(value: Any) -> Any:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return _text(value)


def _date_time(value: Any) -> Any:
    if value.__class__ is str:
        return f"{value}:00" if _SHORT_OFFSET.search(value) else value
    return _text(value)


def _geojson(value: Any) -> Any:
    return value if isinstance(value, dict) else None


def _wkt_point(coordinates: list[Any]) -> str:
    return " ".join(js_number(c) for c in coordinates)


def _point_wkt(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("coordinates"), list):
        return f"POINT ({_wkt_point(value['coordinates'])})"
    return None


def _line_wkt(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("coordinates"), list):
        return f"LINESTRING ({','.join(_wkt_point(p) for p in value['coordinates'])})"
    return None


def _polygon_wkt(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("coordinates"), list) and value["coordinates"]:
        return f"POLYGON (({','.join(_wkt_point(p) for p in value['coordinates'][0])}))"
    return None


def _converter(node: Node, wkt: bool) -> Callable[[Any], Any] | None:
    """None: the stored value is shown as it is (a string) — the common case, kept fast."""
    if node.select_multiple:
        return _select_multiple
    kind = node.type
    if kind in {"int", "integer"}:
        return _int
    if kind == "decimal":
        return _decimal
    if kind == "dateTime":
        return _date_time
    if kind == "geopoint":
        return _point_wkt if wkt else _geojson
    if kind == "geotrace":
        return _line_wkt if wkt else _geojson
    if kind == "geoshape":
        return _polygon_wkt if wkt else _geojson
    if kind == "boolean":
        return _text
    return None


def repeat_id(parts: list[str]) -> str:
    """Central's hashId: sha1 of `Submissions#<instanceID>` and each group (`name#`) and repeat instance
    (`name#<0-based index>`) on the way, joined by `%%`."""
    return hashlib.sha1("%%".join(parts).encode()).hexdigest()  # noqa: S324 - an identifier, as Central's


_URI_PLAIN = re.compile(r"[A-Za-z0-9\-_.!~*'():]*")


def encode_uri_component(value: str) -> str:
    """JavaScript's encodeURIComponent (Central's navigation links)."""
    if _URI_PLAIN.fullmatch(value):  # the usual uuid:…, quicker than quote()
        return value.replace(":", "%3A")
    return quote(value, safe="-_.!~*'()")


# --- selection ------------------------------------------------------------------------------------------------


class Selection(msgspec.Struct, frozen=True):
    """What `$select` keeps: field paths (None: every field) and which metadata keys."""

    paths: frozenset[str] | None
    id: bool = True
    parent_key: bool = True
    system: tuple[str, ...] | None = SYSTEM_FIELDS  # None: no __system at all


EVERYTHING = Selection(paths=None)


def selection_for(tree: Tree, target: Node, select: str | None) -> Selection:
    """Central's $select (lib/formats/odata.js filterFields): properties of the table, `a/b` inside groups, a
    group with all it holds, `__id`, `__system`, `__system/<field>` (Submissions only), the parent key."""
    if select is None or select.strip() == "*":
        return EVERYTHING
    by_parts = {node.parts: node for node in tree.nodes}
    kept: set[str] = set()
    wanted = [p.strip() for p in select.split(",")]
    system: list[str] = []
    for prop in wanted:
        if prop == "__id" or (target.kind == "repeat" and prop == target.parent_key):
            continue
        if target.kind != "repeat" and (prop == "__system" or prop.removeprefix("__system/") in SYSTEM_FIELDS):
            system.append(prop.removeprefix("__system/") if prop != "__system" else "*")
            continue
        node = by_parts.get((*target.parts, *prop.split("/")))
        if node is None:
            raise Problem.odata_property_not_found(prop)
        kept.update(_selected(node, target, prop))
    system_keys: tuple[str, ...] | None = None
    if "*" in system:
        system_keys = SYSTEM_FIELDS
    elif system:
        system_keys = tuple(name for name in SYSTEM_FIELDS if name in system)
    return Selection(
        paths=frozenset(kept),
        id="__id" in wanted,
        parent_key=target.kind == "repeat" and target.parent_key in wanted,
        system=system_keys,
    )


def _selected(node: Node, target: Node, prop: str) -> set[str]:
    """A selected field's path, its groups up to the table (not through a repeat), and a group's content."""
    kept = {node.path}
    ancestor = node.parent
    while ancestor is not None and ancestor is not target:
        if ancestor.kind == "repeat":
            raise Problem.odata_unsupported_select(prop)
        kept.add(ancestor.path)
        ancestor = ancestor.parent
    stack = list(node.children) if node.kind == "group" else []
    while stack:
        child = stack.pop()
        kept.add(child.path)
        if child.kind == "group":
            stack.extend(child.children)
    return kept


# --- plans ----------------------------------------------------------------------------------------------------


class _Repeat:
    """A repeat inside a frame: where its instances are, how its link and ids are named, and its content."""

    __slots__ = ("frame", "link_key", "name", "out")

    def __init__(self, node: Node, frame: _Frame | None) -> None:
        self.name = node.name  # the stored answers' key, and the hash part
        self.out = node.out
        self.link_key = f"{node.out}@odata.navigationLink"
        self.frame = frame  # None: not expanded (a link only)


class _Frame:
    """The content of the root, a group or a repeat instance: values and groups in form order, then repeats."""

    __slots__ = ("has_repeats", "items", "name", "repeats")

    def __init__(self, name: str) -> None:
        self.name = name
        # (output key, stored key, converter or None, group frame or None)
        self.items: list[tuple[str, str, Callable[[Any], Any] | None, _Frame | None]] = []
        self.repeats: list[_Repeat] = []
        self.has_repeats = False


def _frame(node: Node, paths: frozenset[str] | None, wkt: bool, expand: bool) -> _Frame:
    frame = _Frame(node.name)
    for child in node.children:
        if paths is not None and child.path not in paths:
            continue
        if child.kind == "group":
            frame.items.append((child.out, child.name, None, _frame(child, paths, wkt, expand)))
        elif child.kind == "repeat":
            frame.repeats.append(_Repeat(child, _frame(child, None, wkt, expand) if expand else None))
        else:
            frame.items.append((child.out, child.name, _converter(child, wkt), None))
    frame.has_repeats = bool(frame.repeats) or any(sub is not None and sub.has_repeats for *_, sub in frame.items)
    return frame


class _Context:
    """Where a frame sits in the household: the hash parts and the navigation link so far."""

    __slots__ = ("hash_parts", "link")

    def __init__(self, hash_parts: list[str], link: str) -> None:
        self.hash_parts = hash_parts
        self.link = link


class Plan:
    """How to turn a household into the rows of one table (see the module docstring)."""

    def __init__(self, tree: Tree, target: Node, selection: Selection, *, wkt: bool, expand: bool) -> None:
        self.target = target
        self.selection = selection
        self.expand = expand
        paths = selection.paths
        self.frame = _frame(target, paths, wkt, expand)
        self.is_root = target.kind != "repeat"
        # For a repeat table: the structural nodes from the root down to it.
        self.chain = target.chain()
        self.parent_key = target.parent_key if not self.is_root else ""
        self.pruning = self._pruning()

    def _pruning(self) -> Pruning | None:
        """What of the stored answers this table needs, so the database sends (and we decode) only that: the
        root table without $expand needs each repeat's presence (for its link), not its content; a repeat table
        needs only the branch that leads to its repeat."""
        if self.is_root:
            if self.expand:
                return None
            # Only repeats at the top: a path through a group could meet an array where an older version of the
            # form had a repeat, and jsonb_set refuses that.
            marked = [_stored_path(repeat) for repeat in self.target.children if repeat.kind == "repeat"]
            return Pruning(mark=tuple(marked)) if marked else None
        first = next(i for i, node in enumerate(self.chain) if node.kind == "repeat")
        return Pruning(only=tuple(node.name for node in self.chain[: first + 1]))

    # the per-row part ---------------------------------------------------------------------------------------

    def rows(self, household: Household) -> list[dict[str, Any]]:
        if self.is_root:
            return [self.root_row(household)]
        return [row for row, _, _ in self.repeat_rows(household)]

    def root_row(self, household: Household) -> dict[str, Any]:
        selection = self.selection
        row: dict[str, Any] = {}
        answers = None if household.encrypted else (household.answers or {})
        context = None
        if answers is not None:
            if self.frame.has_repeats:
                instance_id = household.instance_id
                context = _start(instance_id)
            self.fill(self.frame, answers, row, context)
        if selection.id:
            row["__id"] = household.instance_id
        if selection.system is not None:
            row["__system"] = self.system(household)
        if context is not None and self.frame.repeats:
            self.fill_repeats(self.frame, answers or {}, row, context)
        return row

    def system(self, household: Household) -> dict[str, Any]:
        status = None
        if household.encrypted:
            status = "notDecrypted" if household.attachments_present else "missingEncryptedFormData"
        values = {
            "submissionDate": household.created_at,
            "updatedAt": household.updated_at,
            "deletedAt": household.deleted_at,
            "submitterId": None if household.submitter_id is None else str(household.submitter_id),
            "submitterName": household.submitter_name or None,
            "attachmentsPresent": household.attachments_present,
            "attachmentsExpected": household.attachments_expected,
            "status": status,
            "reviewState": household.review_state,
            "deviceId": household.device_id,
            "edits": household.edits,
            "formVersion": household.form_version,
        }
        keys = self.selection.system
        if keys is SYSTEM_FIELDS:
            return values
        return {key: values[key] for key in keys or ()}

    def fill(self, frame: _Frame, data: dict[str, Any], out: dict[str, Any], context: _Context | None) -> None:
        get = data.get
        for key, stored, convert, sub in frame.items:
            value = get(stored)
            if sub is not None:
                group: dict[str, Any] = {}
                if value.__class__ is list:  # a repeat in an older version of the form: its last instance
                    value = value[-1] if value else None
                inner = None
                if context is not None and sub.has_repeats:
                    inner = _Context([*context.hash_parts, f"{sub.name}#"], f"{context.link}/{key}")
                self.fill(sub, value if value.__class__ is dict else {}, group, inner)
                if inner is not None and sub.repeats:
                    self.fill_repeats(sub, value if value.__class__ is dict else {}, group, inner)
                out[key] = group
            elif value is None:
                out[key] = None
            elif convert is None:
                out[key] = value if value.__class__ is str else _text(value)
            else:
                out[key] = convert(value)

    def fill_repeats(self, frame: _Frame, data: dict[str, Any], out: dict[str, Any], context: _Context) -> None:
        for repeat in frame.repeats:
            instances = _instances(data.get(repeat.name))
            if not instances:
                continue
            out[repeat.link_key] = f"{context.link}/{repeat.out}"
            if repeat.frame is not None:
                out[repeat.out] = [
                    self.bag(repeat, instance, index, context)[0] for index, instance in enumerate(instances)
                ]

    def bag(
        self, repeat: _Repeat, instance: dict[str, Any], index: int, context: _Context
    ) -> tuple[dict[str, Any], _Context]:
        """One repeat instance as an object: its fields, `__id`, and (filled by the caller) nested repeats."""
        frame = repeat.frame
        assert frame is not None
        parts = [*context.hash_parts, f"{repeat.name}#{index}"]
        bag_id = repeat_id(parts)
        inner = _Context(parts, f"{context.link}/{repeat.out}('{bag_id}')")
        bag: dict[str, Any] = {}
        self.fill(frame, instance, bag, inner if frame.has_repeats else None)
        bag["__id"] = bag_id
        if frame.repeats:
            self.fill_repeats(frame, instance, bag, inner)
        return bag, inner

    def repeat_rows(self, household: Household) -> Iterator[tuple[dict[str, Any], str, str]]:
        """(row, its __id, its parent's id) for the rows of a repeat table that one household holds, in document
        order."""
        if household.encrypted or not household.answers:
            return
        instance_id = household.instance_id
        start = _start(instance_id)
        # (data, context, parent id) at each level on the way down to the target repeat.
        level: list[tuple[dict[str, Any], _Context, str]] = [(household.answers, start, instance_id)]
        for node in self.chain[:-1]:
            following: list[tuple[dict[str, Any], _Context, str]] = []
            for data, context, parent_id in level:
                value = data.get(node.name)
                if node.kind == "group":
                    if value.__class__ is list:
                        value = value[-1] if value else None
                    following.append(
                        (
                            value if value.__class__ is dict else {},
                            _Context([*context.hash_parts, f"{node.name}#"], f"{context.link}/{node.out}"),
                            parent_id,
                        )
                    )
                else:
                    for index, instance in enumerate(_instances(value)):
                        parts = [*context.hash_parts, f"{node.name}#{index}"]
                        instance_key = repeat_id(parts)
                        following.append(
                            (instance, _Context(parts, f"{context.link}/{node.out}('{instance_key}')"), instance_key)
                        )
            level = following
        target = self.chain[-1]
        repeat = _Repeat(target, self.frame)
        selection = self.selection
        for data, context, parent_id in level:
            for index, instance in enumerate(_instances(data.get(target.name))):
                parts = [*context.hash_parts, f"{target.name}#{index}"]
                row_id = repeat_id(parts)
                row: dict[str, Any] = {}
                inner = _Context(parts, f"{context.link}/{repeat.out}('{row_id}')")
                self.fill(self.frame, instance, row, inner if self.frame.has_repeats else None)
                if selection.id:
                    row["__id"] = row_id
                if selection.parent_key:
                    row[self.parent_key] = parent_id
                if self.frame.repeats:
                    self.fill_repeats(self.frame, instance, row, inner)
                yield row, row_id, parent_id


class Pruning(msgspec.Struct, frozen=True):
    """`mark`: paths of repeats whose content may be replaced by one empty instance; `only`: the one path (down to
    the first repeat) to keep. Paths are the stored answers' keys."""

    mark: tuple[tuple[str, ...], ...] = ()
    only: tuple[str, ...] | None = None


def _stored_path(node: Node) -> tuple[str, ...]:
    return tuple(n.name for n in node.chain())


def _start(instance_id: str) -> _Context:
    return _Context([f"Submissions#{instance_id}"], f"Submissions('{encode_uri_component(instance_id)}')")


def _instances(value: Any) -> list[dict[str, Any]]:
    if value.__class__ is list:
        return [v if v.__class__ is dict else {} for v in value]
    if value.__class__ is dict:  # a group in an older version of the form: one instance
        return [value]
    return []


def plan_for(tree: Tree, target: Node, selection: Selection, *, wkt: bool, expand: bool) -> Plan:
    """The plan for a table of a form version, kept with the version's tree (itself cached per version)."""
    key = (target.path, selection, wkt, expand)
    plan = tree.plans.get(key)
    if plan is None:
        if len(tree.plans) >= 64:
            tree.plans.clear()
        plan = tree.plans[key] = Plan(tree, target, selection, wkt=wkt, expand=expand)
    return plan
