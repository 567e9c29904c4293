"""Each test starts and ends with an empty form-schema cache (see tests/evidence/kit.py forget_schemas)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.evidence.kit import forget_schemas

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def _fresh_schema_cache() -> Iterator[None]:
    forget_schemas()
    yield
    forget_schemas()
