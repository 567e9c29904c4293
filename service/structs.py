"""Shared Struct bases: camelCase on the wire (as ODK Central's JSON), unknown fields refused on input."""

from __future__ import annotations

from typing import Self

import msgspec

__all__ = ["Input", "Output"]


class Input(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """A request body. Unknown fields are an error, so a typo never silently does nothing."""


class Output(msgspec.Struct, rename="camel"):
    """A response body."""

    @classmethod
    def from_row(cls, row: object) -> Self:
        """Built from the attributes of a row (a Struct from a query) that have the same Python names.

        Fields the row lacks must have defaults here; columns the Output does not show are ignored.
        """
        return msgspec.convert(row, cls, from_attributes=True)
