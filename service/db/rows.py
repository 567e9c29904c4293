"""Typed rows: every query returns msgspec Structs, never bare asyncpg Records.

`msgspec.convert` reads a Record as a mapping and checks every column against the Struct's annotations, so a
renamed column or a changed type fails loudly at the query, not three layers up as a KeyError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import msgspec

if TYPE_CHECKING:
    from collections.abc import Iterable

    import asyncpg

__all__ = ["many", "one", "optional"]

T = TypeVar("T")


def one(record: asyncpg.Record | None, kind: type[T]) -> T:
    """A row the statement always returns (INSERT … RETURNING, a lookup of a known id)."""
    if record is None:
        raise LookupError(f"expected a {kind.__name__} row, the statement returned none")
    return msgspec.convert(record, kind)


def optional(record: asyncpg.Record | None, kind: type[T]) -> T | None:
    return None if record is None else msgspec.convert(record, kind)


def many(records: Iterable[asyncpg.Record], kind: type[T]) -> list[T]:
    return [msgspec.convert(record, kind) for record in records]
