"""Structs of the audits capability (Central's Audit: actorId, action, acteeId, details, loggedAt)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from service.structs import Output

__all__ = ["AuditOut", "AuditRow"]


class AuditRow(msgspec.Struct, frozen=True):
    id: int
    actor_id: int | None
    action: str
    project_id: int | None
    form_id: int | None
    details: dict[str, Any] | None
    logged_at: datetime


class AuditOut(Output, kw_only=True):
    id: int
    actor_id: int | None
    action: str
    # Central's actee: what the action was done to (the form, else the project).
    actee_id: int | None
    project_id: int | None
    form_id: int | None
    details: dict[str, Any] | None
    logged_at: datetime

    @classmethod
    def of(cls, row: AuditRow) -> AuditOut:
        return cls(
            id=row.id,
            actor_id=row.actor_id,
            action=row.action,
            actee_id=row.form_id if row.form_id is not None else row.project_id,
            project_id=row.project_id,
            form_id=row.form_id,
            details=row.details,
            logged_at=row.logged_at,
        )
