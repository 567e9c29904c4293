"""The server's classification of a household, computed at ingest from the version's answers.

Which forms: those whose fields the rules need (service.classification.applies_to); other forms' households, and
encrypted ones, get none. Urban or rural comes from the form version's own commune list (its `area` column).
Ingest computes it before its transaction (it is pure and takes about a tenth of a millisecond) and writes it in
the same transaction as the version, so a household's stored classification always matches its current version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from service.classification import Classification, applies_to, classify_household
from service.forms.collect import choice_column

if TYPE_CHECKING:
    from collections.abc import Mapping

    from service.db.pool import Connection
    from service.forms.collect import SubmissionTarget

__all__ = ["Classified", "ClassificationRules", "classification_rules"]

# The form's own provisional result: the calculate of this name (the example form's g_result/classification).
_PROVISIONAL = "classification"
_AREA_COLUMN = "area"


class Classified(msgspec.Struct, frozen=True):
    classification: str
    detail: Classification
    provisional: str | None
    # The phone's provisional result differs from the server's (None: the phone sent none).
    mismatch: bool | None


class ClassificationRules(msgspec.Struct, frozen=True):
    """What classifying a household of one form version needs besides its answers."""

    commune_areas: dict[str, str]

    def classify(self, answers: Mapping[str, Any] | None) -> Classified | None:
        if answers is None:
            return None
        detail = classify_household(answers, self.commune_areas)
        provisional = _provisional(answers)
        mismatch = None if provisional is None else provisional != detail.classification
        return Classified(detail.classification, detail, provisional, mismatch)


async def classification_rules(conn: Connection, target: SubmissionTarget) -> ClassificationRules | None:
    """None when the form does not ask what the rules need (or is encrypted: the server cannot read its answers)."""
    if target.encrypted or not applies_to([field.name for field in target.schema.fields]):
        return None
    commune = target.area_fields.commune
    areas = await choice_column(conn, target, commune, _AREA_COLUMN) if commune else {}
    return ClassificationRules(commune_areas=areas)


def _provisional(answers: Mapping[str, Any]) -> str | None:
    """The phone's `classification` answer, outside repeats, wherever its group is."""
    pending: list[Mapping[str, Any]] = [answers]
    while pending:
        node = pending.pop(0)
        value = node.get(_PROVISIONAL)
        if isinstance(value, str) and value.strip():
            return value.strip()[:100]
        pending.extend(v for v in node.values() if isinstance(v, dict))
    return None
