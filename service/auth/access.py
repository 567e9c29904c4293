"""Who may do what, and where: the caller resolved once per request into an `Access` value.

    Actor  (who: a web user, an app user (a Collect device) or anonymous; from auth/service.py)
      └── Access for one project (resolved by `resolve_access`, once per request, by a route dependency)
            ├── grants: the caller's roles there, each a set of verbs limited to some areas or to none
            ├── require(verb)      → 401 for anonymous, 403 for others, when no grant has the verb
            └── scope(verb)        → Scope: the project and the areas the verb reaches (None: all of it)

Routes hand the Access to services; services pass the Scope to every query that reads households, where it
becomes one SQL predicate (`IN_SCOPE` in submissions/queries.py). tests/test_scope.py fails if a query reading
submissions or their files does not take it.

Verbs follow ODK Central's names. A supervisor of a district reaches all its communes because every household
records all its area codes (district and commune), and a grant matches on any of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from service.errors import Problem
from service.projects import queries as project_queries
from service.projects.models import ProjectRow

from .models import Actor

if TYPE_CHECKING:
    from service.db.pool import Connection
    from service.projects.models import ProjectWithRoles
    from service.resources import Resources

__all__ = [
    "ALL_VERBS",
    "APP_USER_VERBS",
    "VERBS_BY_ROLE",
    "Access",
    "Grant",
    "Scope",
    "access_for",
    "access_to",
    "require_admin",
    "resolve_access",
]

VERBS_BY_ROLE: dict[str, frozenset[str]] = {
    "manager": frozenset(
        {
            "project.read",
            "project.update",
            "form.list",
            "form.read",
            "form.create",
            "form.update",
            "form.delete",
            "submission.list",
            "submission.read",
            "submission.create",
            "submission.update",
            "submission.review",
            "submission.stage",
            "submission.recognise",
            "plan.manage",
            "app_user.manage",
            "assignment.manage",
            "export.read",
        }
    ),
    # Supervisors and viewers export their own areas' households too (district reports); managers the project's.
    "supervisor": frozenset(
        {
            "project.read",
            "form.list",
            "form.read",
            "submission.list",
            "submission.read",
            "submission.review",
            "submission.stage",
            "plan.manage",
            "export.read",
        }
    ),
    # Reads the households of its areas (and comments on them); decides nothing.
    "viewer": frozenset(
        {"project.read", "form.list", "form.read", "submission.list", "submission.read", "export.read"}
    ),
    "enumerator": frozenset({"project.read", "form.list", "form.read", "submission.create"}),
}
# App users (Collect devices) see and fill only the open forms they are assigned to.
APP_USER_VERBS = frozenset({"form.list", "form.read", "submission.create"})
# System verbs (creating projects, managing accounts) belong to admins only.
SYSTEM_VERBS = frozenset({"project.create", "user.manage"})
ALL_VERBS = frozenset().union(*VERBS_BY_ROLE.values(), SYSTEM_VERBS)


class Grant(msgspec.Struct, frozen=True):
    """One role of the caller in a project: its verbs, limited to `areas` (GSO codes) unless None."""

    role: str
    verbs: frozenset[str]
    areas: tuple[str, ...] | None


class Scope(msgspec.Struct, frozen=True):
    """Which households of a project a read may touch: those in `areas` (any of their area codes), or all."""

    project_id: int
    areas: tuple[str, ...] | None

    @classmethod
    def whole(cls, project_id: int) -> Scope:
        """Every household of a project (admins; and the one household a caller just sent, shown back to it)."""
        return cls(project_id=project_id, areas=None)

    @property
    def area_filter(self) -> list[str] | None:
        """The value for a query's scope parameter: null reaches the whole project."""
        return None if self.areas is None else list(self.areas)


class Access(msgspec.Struct, frozen=True):
    actor: Actor
    project: ProjectRow
    grants: tuple[Grant, ...]

    @property
    def project_id(self) -> int:
        return self.project.id

    @property
    def verbs(self) -> frozenset[str]:
        return frozenset().union(*(grant.verbs for grant in self.grants))

    def allows(self, verb: str) -> bool:
        return any(verb in grant.verbs for grant in self.grants)

    def require(self, verb: str) -> None:
        if self.allows(verb):
            return
        if self.actor.kind == "anonymous":
            raise Problem.authentication_required()
        raise Problem.insufficient_rights()

    def scope(self, verb: str) -> Scope:
        """The reach of `verb` (after requiring it): the union of the areas of every grant that has it."""
        self.require(verb)
        areas: set[str] = set()
        for grant in self.grants:
            if verb in grant.verbs:
                if grant.areas is None:
                    return Scope(project_id=self.project.id, areas=None)
                areas.update(grant.areas)
        return Scope(project_id=self.project.id, areas=tuple(sorted(areas)))


# int8 is the widest id we store; a larger number in a path can name nothing (and must not reach asyncpg).
MAX_ID = 2**63 - 1


async def resolve_access(conn: Connection, actor: Actor, project_id: int) -> Access:
    """The caller's access to a project: 404 when the project does not exist (or is deleted)."""
    if not 0 < project_id <= MAX_ID:
        raise Problem.not_found("project")
    row = await project_queries.project_with_roles(
        conn, project_id, actor.id if actor.kind == "user" and not actor.is_admin else None
    )
    if row is None:
        raise Problem.not_found("project")
    return access_for(actor, row)


async def access_to(res: Resources, actor: Actor, project_id: int) -> Access:
    """`resolve_access` on a connection of its own: for callers outside a request (CLI, start-up, tests)."""
    async with res.pool.acquire() as conn:
        return await resolve_access(conn, actor, project_id)


def access_for(actor: Actor, row: ProjectWithRoles) -> Access:
    """Access from a project row and the roles the actor holds there."""
    project = msgspec.convert(row, ProjectRow, from_attributes=True)
    if actor.is_admin:
        grants: tuple[Grant, ...] = (Grant(role="admin", verbs=ALL_VERBS, areas=None),)
    elif actor.kind == "app_user":
        grants = (Grant(role="app_user", verbs=APP_USER_VERBS, areas=None),) if actor.project_id == row.id else ()
    else:
        grants = tuple(
            Grant(
                role=r.role,
                verbs=VERBS_BY_ROLE[r.role],
                areas=None if r.area_codes is None else tuple(r.area_codes),
            )
            for r in row.roles
        )
    return Access(actor=actor, project=project, grants=grants)


def require_admin(actor: Actor) -> None:
    """System-wide actions (creating projects, managing accounts): admins only."""
    if actor.is_admin:
        return
    if actor.kind == "anonymous":
        raise Problem.authentication_required()
    raise Problem.insufficient_rights()
