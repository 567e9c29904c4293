"""The SQL behind OData: households of one form with their current answers, in the reader's scope, through a
compiled `$filter` (filter.py), in keyset or offset pages.

Like every read of households, each function takes the reader's Scope as $1 and applies IN_SCOPE (see
service/submissions/queries.py and tests/test_scope.py). $2 is always the form. The `$filter` condition comes
from filter.py as fixed SQL fragments with typed parameters, numbered here after the fixed ones.

Why not `submissions.queries.iterate_households`: its filter is a fixed conjunction (states, area, dates,
version, ids), while `$filter` is an arbitrary boolean expression (or, not, ne, null) and may show deleted
households (`__system/deletedAt`, as Central does); and OData needs the deletion time and `$skip`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from service.db.rows import optional
from service.submissions.queries import IN_SCOPE

from .rows import Household

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from service.auth.access import Scope
    from service.db.pool import Connection

    from .filter import Condition
    from .rows import Pruning

__all__ = ["NEWEST_FIRST", "Ordering", "Summary", "count", "count_repeat_rows", "household", "households", "summary"]


class Ordering(msgspec.Struct, frozen=True):
    """ORDER BY terms (SQL on `s`, descending?) — the last is always the id, so the order is total."""

    terms: tuple[tuple[str, bool], ...]

    @property
    def keyset(self) -> bool:
        """Ordered by the submission date alone: pages can continue from a row ($skiptoken)."""
        return len(self.terms) == 2 and self.terms[0][0] == "s.created_at"

    @property
    def descending(self) -> bool:
        return self.terms[0][1]

    def sql(self) -> str:
        """Central's NULLS LAST (desc) / FIRST (asc) for nullable members; plain for the never-null date and id,
        so the keyset index (form_id, created_at desc, id desc) serves the order without a sort."""
        return ", ".join(
            f"{column} {('desc' if desc else 'asc') + _nulls(column, desc)}" for column, desc in self.terms
        )


def _nulls(column: str, descending: bool) -> str:
    if column in {"s.created_at", "s.id", "s.instance_id"}:
        return ""
    return " nulls last" if descending else " nulls first"


NEWEST_FIRST = Ordering(terms=(("s.created_at", True), ("s.id", True)))


class Summary(msgspec.Struct, frozen=True):
    """The whole selection in a few numbers: its size, and what changes when any of its rows changes."""

    count: int
    latest_change: datetime | None
    latest_deletion: datetime | None
    id_sum: int


_ROW = """s.id, s.instance_id,
    coalesce(s.submitter_user_id, s.submitter_app_user_id) as submitter_id,
    coalesce(nullif(u.display_name, ''), u.email, a.display_name) as submitter_name,
    s.device_id, s.review_state, fv.version as form_version, s.encrypted, s.created_at,
    nullif(s.updated_at, s.created_at) as updated_at, s.deleted_at, s.attachments_present, s.attachments_expected,
    (select count(*) - 1 from submission_versions e where e.submission_id = s.id)::int as edits,
    v.answers"""

_JOINS = """join submission_versions v on v.id = s.current_version_id
    join form_versions fv on fv.id = s.form_version_id
    left join users u on u.id = s.submitter_user_id
    left join app_users a on a.id = s.submitter_app_user_id"""


def _filtered(condition: Condition, first: int) -> str:
    """The filter (its parameters numbered from `first`), and deleted households hidden unless it names
    __system/deletedAt (Central's odataExcludeDeleted)."""
    deleted = "" if condition.names_deleted_at else "s.deleted_at is null and "
    return f"{deleted}{condition.render(first)}"


async def households(
    conn: Connection,
    scope: Scope,
    form_id: int,
    condition: Condition,
    *,
    ordering: Ordering = NEWEST_FIRST,
    after: str | None = None,
    inclusive: bool = False,
    offset: int = 0,
    limit: int | None = None,
    pruning: Pruning | None = None,
    batch: int = 500,
) -> AsyncGenerator[Household, None]:
    """Households one by one, read in batches of `batch`, so memory stays flat however many are asked for.

    `after` continues a keyset order from the household with that instanceID (exclusive, or `inclusive`), found
    whether or not it has been deleted since, as Central's $skiptoken; an unknown one gives nothing. `offset`
    skips rows first ($skip): cheap in ids, then only the rows of the page are read in full. `pruning` (the
    table's plan) keeps only the answers the table shows.

    Each batch is one LIMITed statement that continues after the previous batch's last row (keyset; by offset for
    other orders), so PostgreSQL walks the index in order and never sorts or joins the whole selection first, as
    it would for one unlimited statement. Call inside a repeatable-read transaction for one snapshot."""
    position: tuple[datetime, int] | None = None
    left = limit
    while left is None or left > 0:
        size = left if left is not None and left <= 2 * batch else batch  # a page of ≤ 1000 in one statement
        query, args = _households_query(
            scope, form_id, condition, ordering, after, inclusive, position, offset, size, pruning
        )
        records = await conn.fetch(query, *args)
        for record in records:
            # By position (the columns are Household's fields, in order): msgspec.convert would walk the answers.
            yield Household(*record)
        if len(records) < size:
            return
        if left is not None:
            left -= len(records)
        if ordering.keyset:
            last = records[-1]
            position, after, offset = (last["created_at"], last["id"]), None, 0
        else:
            offset += len(records)


def _page(
    scope: Scope,
    form_id: int,
    condition: Condition,
    ordering: Ordering,
    after: str | None,
    inclusive: bool,
    position: tuple[datetime, int] | None,
    offset: int,
    limit: int | None,
    columns: str = "s.id",
) -> tuple[str, list[object]]:
    """The rows of one page, in order (for a `with page as (…)`): the form, the reader's scope, the filter, the
    keyset (after a (createdAt, id) `position`, or after the household `after` names), offset and limit."""
    args: list[object] = [scope.area_filter, form_id, offset, limit]
    compare = "<" if ordering.descending else ">"
    keyset = ""
    if position is not None:
        keyset = f"and (s.created_at, s.id) {compare} ($5::timestamptz, $6::bigint)"
        args += position
    elif after is not None:
        keyset = f"""and (s.created_at, s.id) {compare}{"=" if inclusive else ""} (select c.created_at, c.id
                      from submissions c where c.form_id = $2 and c.instance_id = $5)"""
        args.append(after)
    where = _filtered(condition, len(args) + 1)
    args += condition.args
    return (
        f"""select {columns} from submissions s
            where s.form_id = $2 and {IN_SCOPE} and {where} {keyset}
            order by {ordering.sql()}
            offset $3 limit $4""",
        args,
    )


def _households_query(
    scope: Scope,
    form_id: int,
    condition: Condition,
    ordering: Ordering,
    after: str | None,
    inclusive: bool,
    position: tuple[datetime, int] | None,
    offset: int,
    limit: int,
    pruning: Pruning | None,
) -> tuple[str, list[object]]:
    page, args = _page(scope, form_id, condition, ordering, after, inclusive, position, offset, limit)
    answers = _pruned(pruning, args)
    query = f"""with page as ({page})
        select {_ROW.replace("v.answers", answers)}
        from page p join submissions s on s.id = p.id
        {_JOINS}
        where {IN_SCOPE}
        order by {ordering.sql()}"""
    return query, args


def _pruned(pruning: Pruning | None, args: list[object]) -> str:
    """The answers column, pruned in the database: repeats marked present by one empty instance, or only the
    branch down to one repeat. Each path is a parameter, appended to `args`."""
    if pruning is None:
        return "v.answers"
    if pruning.only is not None:
        args.append(list(pruning.only))
        expression = f"v.answers #> ${len(args)}::text[]"
        for depth in range(len(pruning.only) - 1, -1, -1):
            args.append(pruning.only[depth])
            expression = f"jsonb_build_object(${len(args)}::text, {expression})"
        return expression
    expression = "v.answers"
    for path in pruning.mark:
        args.append(list(path))
        expression = f"jsonb_set({expression}, ${len(args)}::text[], '[{{}}]'::jsonb, false)"
    return expression


async def household(conn: Connection, scope: Scope, form_id: int, instance_id: str) -> Household | None:
    """One household (not deleted) with its current answers."""
    row = await conn.fetchrow(
        f"""select {_ROW} from submissions s {_JOINS}
        where s.form_id = $2 and s.instance_id = $3 and s.deleted_at is null and {IN_SCOPE}""",
        scope.area_filter,
        form_id,
        instance_id,
    )
    return optional(row, Household)


async def summary(
    conn: Connection,
    scope: Scope,
    form_id: int,
    condition: Condition,
    *,
    ordering: Ordering = NEWEST_FIRST,
    after: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> Summary:
    """Change markers of a page (as `households` reads it), or of the whole selection without a limit: what the
    feed's ETag is made of. A page costs an index walk over its rows; the whole selection, a scan of it."""
    if limit is None:
        row = await conn.fetchrow(
            f"""select count(*)::bigint as count, max(s.updated_at) as latest_change,
                   max(s.deleted_at) as latest_deletion, coalesce(sum(s.id), 0)::bigint as id_sum
            from submissions s where s.form_id = $2 and {IN_SCOPE} and {_filtered(condition, 3)}""",
            scope.area_filter,
            form_id,
            *condition.args,
        )
    else:
        page, args = _page(
            scope, form_id, condition, ordering, after, False, None, offset, limit, "s.id, s.updated_at, s.deleted_at"
        )
        row = await conn.fetchrow(
            f"""with page as ({page})
            select count(*)::bigint as count, max(updated_at) as latest_change, max(deleted_at) as latest_deletion,
                coalesce(sum(id), 0)::bigint as id_sum
            from page""",
            *args,
        )
    return msgspec.convert(row, Summary)


async def count(conn: Connection, scope: Scope, form_id: int, condition: Condition) -> int:
    """How many households the selection holds ($count)."""
    found: int = await conn.fetchval(
        f"""select count(*) from submissions s where s.form_id = $2 and {IN_SCOPE} and {_filtered(condition, 3)}""",
        scope.area_filter,
        form_id,
        *condition.args,
    )
    return found


async def count_repeat_rows(conn: Connection, scope: Scope, form_id: int, condition: Condition, path: str) -> int:
    """How many instances of a repeat the selection holds (`path`: a jsonpath like `$."members"[*]`)."""
    count: int = await conn.fetchval(
        f"""select coalesce(sum(jsonb_array_length(jsonb_path_query_array(v.answers, $3::jsonpath))), 0)::bigint
        from submissions s join submission_versions v on v.id = s.current_version_id
        where s.form_id = $2 and {IN_SCOPE} and {_filtered(condition, 4)}""",
        scope.area_filter,
        form_id,
        path,
        *condition.args,
    )
    return count
