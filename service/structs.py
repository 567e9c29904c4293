"""Shared Struct bases: camelCase on the wire (as ODK Central's JSON), unknown fields refused on input."""

from __future__ import annotations

import msgspec

__all__ = ["Input", "Output"]


class Input(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """A request body. Unknown fields are an error, so a typo never silently does nothing."""


class Output(msgspec.Struct, rename="camel"):
    """A response body."""
