"""Structs of the projects capability."""

from __future__ import annotations

from datetime import datetime

import msgspec

from service.auth.models import Role
from service.structs import Input, Output

__all__ = [
    "AssignedRole",
    "AssignmentIn",
    "AssignmentOut",
    "AssignmentRow",
    "ProjectCreateIn",
    "ProjectOut",
    "ProjectRow",
    "ProjectUpdateIn",
    "ProjectWithRoles",
]


class ProjectRow(msgspec.Struct, frozen=True):
    id: int
    name: str
    description: str
    archived: bool
    created_at: datetime
    updated_at: datetime | None


class AssignedRole(msgspec.Struct, frozen=True):
    """One of a user's roles in a project, limited to some areas (GSO codes) unless area_codes is None."""

    role: Role
    area_codes: list[str] | None


class ProjectWithRoles(ProjectRow, frozen=True):
    """A project with the roles one user holds in it (what access is computed from)."""

    roles: list[AssignedRole]


class ProjectOut(Output, kw_only=True):
    id: int
    name: str
    description: str
    archived: bool
    key_id: int | None = None
    created_at: datetime
    updated_at: datetime | None
    deleted_at: datetime | None = None
    # What the caller may do here (Central returns the same list in extended metadata).
    verbs: list[str]

    @classmethod
    def of(cls, row: ProjectRow, verbs: frozenset[str]) -> ProjectOut:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            archived=row.archived,
            created_at=row.created_at,
            updated_at=row.updated_at,
            verbs=sorted(verbs),
        )


class ProjectCreateIn(Input, kw_only=True):
    name: str
    description: str = ""


class ProjectUpdateIn(Input, kw_only=True):
    name: str | None = None
    description: str | None = None
    archived: bool | None = None


class AssignmentIn(Input, kw_only=True):
    # GSO codes of districts or communes this assignment is limited to; absent means the whole project.
    area_codes: list[str] | None = None


class AssignmentRow(msgspec.Struct, frozen=True):
    actor_id: int
    email: str
    display_name: str
    role: Role
    area_codes: list[str] | None
    created_at: datetime


class AssignmentOut(Output, kw_only=True):
    actor_id: int
    email: str
    display_name: str
    role: Role
    area_codes: list[str] | None
    created_at: datetime
