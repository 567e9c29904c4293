"""Classification: the official result of the poverty review computed by the server from a household's answers.

Pure Python, no I/O: Decree 07/2021/NĐ-CP's income lines and 12 deprivation indicators, the quick screen, and the
temporary-house eligibility under the 2023 rule (Circular 01/2022/TT-BXD) and the 2025 rule (Decision 55/QĐ-BXD).
Ingest (service/submissions/classified.py) runs it on every new version. Criteria: docs/domain.md.
"""

from __future__ import annotations

from .classify import AVERAGE_LINE, POVERTY_LINE, RULES, applies_to, classify_household
from .models import CLASSES, Class, Classification, HouseRule, Missing

__all__ = [
    "AVERAGE_LINE",
    "CLASSES",
    "POVERTY_LINE",
    "RULES",
    "Class",
    "Classification",
    "HouseRule",
    "Missing",
    "applies_to",
    "classify_household",
]
