"""Who may reach which form: the verb in the project's Access, app-user form assignments, drafts for editors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.errors import Problem

from . import queries

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.db.pool import Connection

    from .models import FormRow, VersionRow

__all__ = ["VersionSelector", "authorized_form", "lock_form", "read_verb", "select_version"]

# Which version of a form to read: "published", "draft", or a published version string.
VersionSelector = str


async def authorized_form(conn: Connection, access: Access, xml_form_id: str, verb: str) -> FormRow:
    """The form after requiring `verb` in its project: 404 when absent, 401/403 when not allowed."""
    access.require(verb)
    form = await queries.get_form(conn, access.project_id, xml_form_id)
    if form is None:
        raise Problem.not_found("form")
    # App users (Collect devices) reach only the forms assigned to them.
    actor = access.actor
    if actor.kind == "app_user" and (actor.id is None or not await queries.app_user_assigned(conn, form.id, actor.id)):
        raise Problem.insufficient_rights()
    return form


def read_verb(which: VersionSelector) -> str:
    # Drafts are for the people editing the form, not for devices collecting data.
    return "form.update" if which == "draft" else "form.read"


async def lock_form(conn: Connection, form_id: int, *, lock: bool = True) -> FormRow:
    row = await queries.get_form_by_id(conn, form_id, for_update=lock)
    if row is None:
        raise Problem.not_found("form")
    return row


async def select_version(conn: Connection, form: FormRow, which: VersionSelector) -> VersionRow:
    if which == "published":
        version_id = form.current_version_id
    elif which == "draft":
        version_id = form.draft_version_id
    else:
        found = await queries.get_version_by_string(conn, form.id, which)
        version_id = found.id if found else None
    if version_id is None:
        raise Problem.not_found("form version")
    return await queries.get_version(conn, version_id)
