"""The audit log: an append-only record of what matters (sign-ins, role changes, review decisions, exports), and
reading it back (admins everything; managers their projects')."""

from __future__ import annotations

from .record import record_audit

__all__ = ["record_audit"]
