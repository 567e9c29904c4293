"""OData v4 over a form's households, at Central's paths and in Central's shapes (lib/resources/odata.js), so
Excel, Power BI and pyODK's `get_table` work unchanged.

    service_document   …/forms/{id}.svc                      the tables: Submissions and one per repeat
    metadata           …/forms/{id}.svc/$metadata            EDMX (edm.py)
    table              …/forms/{id}.svc/{table}              a feed, streamed from a server-side cursor
                       …/forms/{id}.svc/Submissions('{iid}')[/{group or repeat}[('{repeat id}')]…]   one household

Reading needs `submission.read`; the caller's Scope is applied in SQL to every row (queries.py), so an area filter
outside it simply finds nothing. Query options as Central: $top $skip $skiptoken $count $filter $orderby $select
$expand=* $wkt $format ($search is accepted and ignored); any other parameter is 501.1.

Paging. Submissions are ordered newest first by (createdAt, id), as Central. `@odata.nextLink` carries Central's
`$skiptoken` ("01" + base64 of {"instanceId": the last row}), which continues the keyset after that household, so
deep pages cost what the first one costs. `$skip` is an offset (it reads and discards ids). Repeat tables page over
their rows; our token adds the household of the last row ({"repeatId", "instanceId"}) so the next page starts
there instead of reading from the top (a token with only a repeatId, as Central gives, still works by scanning).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import AsyncGenerator, AsyncIterator  # noqa: TC003 - Reply's field, read by msgspec
from contextlib import aclosing
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import msgspec

from service.auth.access import Scope
from service.errors import Problem
from service.forms.access import authorized_form, select_version
from service.forms.collect import schema_for_version

from . import queries
from .edm import edmx
from .edm import service_document as service_document_for
from .filter import compile_filter, parse_orderby
from .queries import NEWEST_FIRST, Ordering
from .rows import plan_for, selection_for
from .tree import Tree, tree_for

if TYPE_CHECKING:
    from service.auth.access import Access
    from service.db.pool import Connection
    from service.resources import Resources

    from .filter import Condition
    from .rows import Household, Plan
    from .tree import Node

__all__ = ["ODataRequest", "Reply", "make_skiptoken", "metadata", "service_document", "table"]

SUPPORTED = (
    "$format",
    "$count",
    "$skip",
    "$top",
    "$filter",
    "$wkt",
    "$expand",
    "$select",
    "$skiptoken",
    "$orderby",
    "$search",  # accepted and ignored, as Central does for submissions
)
JSON_FORMATS = ["application/json", "json"]
XML_FORMATS = ["application/xml", "atom"]
_JSON_TYPE = re.compile(r"(^|,)\s*(application/json|json)\s*($|;|,)", re.IGNORECASE)
_XML_TYPE = re.compile(r"(^|,)\s*(application/(atom(svc)?\+)?xml|atom|xml)\s*($|;|,)", re.IGNORECASE)
_SINGLE = re.compile(r"^Submissions\('((?:[^']|'')*)'\)$")
_NAVIGATION = re.compile(r"^([^(]+)(?:\('((?:[^']|'')*)'\))?$")
_CHUNK = 64 * 1024

_encode = msgspec.json.Encoder().encode


class ODataRequest(msgspec.Struct, frozen=True):
    """The request as the client sent it: what OData answers are built from (URLs echo the client's)."""

    origin: str  # the public origin (Central's env.domain)
    path: str  # the path as sent (percent-encoded), e.g. /v1/projects/1/forms/household.svc/Submissions
    query: str  # the raw query string
    accept: str | None = None
    max_version: str | None = None
    if_none_match: str | None = None

    @property
    def service_root(self) -> str:
        """The path up to and including `.svc`."""
        index = self.path.find(".svc")
        return self.path[: index + 4] if index >= 0 else self.path


class Reply(msgspec.Struct):
    """What a route sends: a status, headers, and a body that is bytes or a stream of chunks."""

    body: bytes | AsyncIterator[bytes]
    media_type: str = "application/json"
    status: int = 200
    headers: dict[str, str] = {}


# --- the request's options ------------------------------------------------------------------------------------


class _Options(msgspec.Struct, frozen=True):
    top: int | None
    skip: int
    skiptoken: dict[str, Any] | None
    count: bool
    wkt: bool
    expand: bool
    filter: str | None
    select: str | None
    orderby: str | None


def _is_true(value: str | None) -> bool:
    # pyODK sends Python's True/False; Central lower-cases too (lib/util/http.js isTrue).
    return value is not None and value.lower() == "true"


_MAX_ROWS = 2**62  # beyond any table, and within PostgreSQL's bigint for LIMIT and OFFSET


def _leading_int(value: str | None) -> int | None:
    """JavaScript's parseInt, as Central reads $top and $skip: the leading integer (at most _MAX_ROWS), or
    nothing."""
    if value is None:
        return None
    match = re.match(r"\s*([+-]?\d{1,30})", value)
    return min(int(match[1]), _MAX_ROWS) if match else None


def _skiptoken(token: str) -> dict[str, Any]:
    """Central's format: "01" + base64(JSON object)."""
    if not token.startswith("01"):
        raise Problem.odata_invalid_skiptoken()
    try:
        parsed = json.loads(base64.b64decode(token[2:] + "=" * (-len(token[2:]) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Problem.odata_invalid_skiptoken() from None
    if not isinstance(parsed, dict):
        raise Problem.odata_invalid_skiptoken()
    return parsed


def make_skiptoken(data: dict[str, Any]) -> str:
    return "01" + base64.b64encode(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()).decode()


def _pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)


def _check(request: ODataRequest, served: str) -> dict[str, str]:
    """Central's OData preprocessor: the format asked for ($format over Accept), OData-MaxVersion, and only
    the query options it knows. Returns the options (first value of each)."""
    params: dict[str, str] = {}
    for key, value in _pairs(request.query):
        params.setdefault(key, value)
    asked = params.get("$format") or request.accept or ""
    wants_json, wants_xml = bool(_JSON_TYPE.search(asked)), bool(_XML_TYPE.search(asked))
    # Central refuses as soon as the other format is named; we only when it is asked for alone, because Excel and
    # Power BI send Accept headers that list both.
    if (served == "json" and wants_xml and not wants_json) or (served == "xml" and wants_json and not wants_xml):
        raise Problem.unacceptable_format(JSON_FORMATS if served == "json" else XML_FORMATS)
    if request.max_version is not None:
        try:
            too_old = float(request.max_version) < 4.0
        except ValueError:
            too_old = False
        if too_old:
            raise Problem.not_found()
    for key in params:
        if key not in SUPPORTED:
            raise Problem.not_implemented(key)
    expand = params.get("$expand")
    if expand and expand != "*":
        raise Problem.odata_unsupported_expand(expand)
    if expand and params.get("$select"):
        raise Problem.odata_select_with_expand()
    return params


def _options(params: dict[str, str]) -> _Options:
    top = _leading_int(params.get("$top"))
    token = params.get("$skiptoken") or None
    skiptoken = _skiptoken(token) if token else None
    return _Options(
        top=None if top is None else max(0, top),
        skip=0 if skiptoken else max(0, _leading_int(params.get("$skip")) or 0),
        skiptoken=skiptoken,
        count=_is_true(params.get("$count")),
        wkt=_is_true(params.get("$wkt")),
        expand=params.get("$expand") == "*",
        filter=params.get("$filter"),
        select=params.get("$select"),
        orderby=params.get("$orderby") or None,
    )


# --- URLs -----------------------------------------------------------------------------------------------------


def _form_encode(text: str) -> str:
    """application/x-www-form-urlencoded as browsers' URLSearchParams write it (Central's nextLink)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char.isascii() and (char.isalnum() or char in "*-._"):
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def _next_link(request: ODataRequest, token: dict[str, Any]) -> str:
    """The request's URL without $skip and with a $skiptoken (replacing one, or appended), as Central builds it."""
    pairs = [(k, v) for k, v in _pairs(request.query) if k != "$skip"]
    value = make_skiptoken(token)
    if any(k == "$skiptoken" for k, _ in pairs):
        first = next(i for i, (k, _) in enumerate(pairs) if k == "$skiptoken")
        pairs = [p for i, p in enumerate(pairs) if p[0] != "$skiptoken" or i == first]
        pairs[first] = ("$skiptoken", value)
    else:
        pairs.append(("$skiptoken", value))
    query = "&".join(f"{_form_encode(k)}={_form_encode(v)}" for k, v in pairs)
    return f"{request.origin}{request.path}?{query}"


def _footer(request: ODataRequest, table: str, next_link: str | None, count: int | None) -> bytes:
    parts = [b'"@odata.context":', _encode(f"{request.origin}{request.service_root}/$metadata#{table}")]
    if next_link is not None:
        parts += [b',"@odata.nextLink":', _encode(next_link)]
    if count is not None:
        parts += [b',"@odata.count":', str(count).encode()]
    return b"".join(parts) + b"}"


# --- the form -------------------------------------------------------------------------------------------------


class _Form(msgspec.Struct, frozen=True):
    id: int
    version_id: int
    xml_md5: str
    tree: Tree
    scope: Scope


async def _form(res: Resources, access: Access, xml_form_id: str) -> _Form:
    """The published form (404 without one) after requiring submission.read, with its OData tree."""
    scope = access.scope("submission.read")
    async with res.pool.acquire() as conn:
        form = await authorized_form(conn, access, xml_form_id, "submission.read")
        version = await select_version(conn, form, "published")
        schema, _ = await schema_for_version(conn, version.id, version.xml_md5)
    return _Form(form.id, version.id, version.xml_md5, tree_for(version.id, version.xml_md5, schema), scope)


async def service_document(res: Resources, access: Access, xml_form_id: str, request: ODataRequest) -> Reply:
    _check(request, "json")
    form = await _form(res, access, xml_form_id)
    document = service_document_for(form.tree, f"{request.origin}{request.service_root}/$metadata")
    return Reply(_encode(document), media_type="application/json; odata.metadata=minimal")


async def metadata(res: Resources, access: Access, xml_form_id: str, request: ODataRequest) -> Reply:
    _check(request, "xml")
    form = await _form(res, access, xml_form_id)
    return Reply(edmx(form.tree).encode(), media_type="application/xml")


# --- tables ---------------------------------------------------------------------------------------------------


def _ordering(options: _Options) -> Ordering:
    if options.orderby is None:
        return NEWEST_FIRST
    orders = parse_orderby(options.orderby)
    descending = orders[0].descending
    terms = tuple((o.sql, o.descending) for o in orders)
    ordering = Ordering(terms=(*terms, ("s.id", descending)))
    if options.skiptoken is not None and not ordering.keyset:
        raise Problem.not_implemented("using $orderby and $skiptoken together")
    return ordering


async def table(
    res: Resources, access: Access, xml_form_id: str, name: str, navigation: str, request: ODataRequest
) -> Reply:
    """A table (`Submissions`, `Submissions.<repeat>`) or one household's rows (`Submissions('…')[/…]`)."""
    options = _options(_check(request, "json"))
    form = await _form(res, access, xml_form_id)
    single = _SINGLE.match(name)
    if single is not None:
        return await _single(res, form, single[1].replace("''", "'"), navigation, options, request)
    if navigation:
        raise Problem.not_found()
    target = form.tree.table(name)
    selection = selection_for(form.tree, target, options.select)
    plan = plan_for(form.tree, target, selection, wkt=options.wkt, expand=options.expand)
    condition = compile_filter(options.filter, "Submissions" if target.kind != "repeat" else name)
    ordering = _ordering(options)
    if options.top == 0 and not options.count:
        return Reply(b'{"value":[],' + _footer(request, name, None, None))
    count = None
    async with res.pool.acquire() as conn:
        if options.count and target.kind == "repeat":
            count = await queries.count_repeat_rows(conn, form.scope, form.id, condition, _json_path(target))
        elif options.count:
            count = await queries.count(conn, form.scope, form.id, condition)
        if options.top == 0:
            return Reply(b'{"value":[],' + _footer(request, name, None, count))
        # Central's ETag covers the rows of the page (the whole selection for repeat tables, whose pages are not
        # pages of households).
        paged = target.kind != "repeat" and options.top is not None
        summary = await queries.summary(
            conn,
            form.scope,
            form.id,
            condition,
            ordering=ordering,
            after=_token_instance(options.skiptoken) if paged else None,
            offset=options.skip if paged else 0,
            limit=options.top + 1 if paged and options.top is not None else None,
        )
    etag = _etag(form, request, summary, count)
    if request.if_none_match is not None and etag in {t.strip() for t in request.if_none_match.split(",")}:
        return Reply(b"", status=304, headers={"ETag": etag})
    feed = _Feed(res, form, plan, condition, ordering, options, request, name, count)
    body = feed.submissions() if target.kind != "repeat" else feed.repeat_rows()
    return Reply(await _primed(body), headers={"ETag": etag})


def _token_instance(token: dict[str, Any] | None) -> str | None:
    """The household a Submissions $skiptoken continues after (Central's {"instanceId": …})."""
    if token is None:
        return None
    after = token.get("instanceId")
    if not isinstance(after, str):
        raise Problem.odata_invalid_skiptoken()
    return after


def _etag(form: _Form, request: ODataRequest, summary: queries.Summary, count: int | None) -> str:
    """Weak: the same selection (form version, query, reader's areas) and no row in it changed."""
    key = "|".join(
        str(part)
        for part in (
            form.version_id,
            form.xml_md5,
            request.path,
            request.query,
            form.scope.areas,
            summary.count,
            summary.latest_change,
            summary.latest_deletion,
            summary.id_sum,
            count,
        )
    )
    return f'W/"{hashlib.md5(key.encode()).hexdigest()}"'  # noqa: S324 - a cache validator


def _json_path(target: Node) -> str:
    """Where a repeat's instances are in the stored answers, as a jsonpath: `$."g"."members"[*]`."""
    steps = []
    for node in target.chain():
        name = node.name.replace("\\", "\\\\").replace('"', '\\"')
        steps.append(f'."{name}"' + ("[*]" if node.kind == "repeat" else ""))
    return "$" + "".join(steps)


async def _primed(body: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
    """Run the stream up to its first chunk now, so that anything refused (a bad $skiptoken, a database error)
    is still answered as a Problem, before the response has started."""
    try:
        first = await anext(body)
    except StopAsyncIteration:  # pragma: no cover - a feed always writes at least its braces
        first = b""

    async def chained() -> AsyncGenerator[bytes, None]:
        async with aclosing(body):
            yield first
            async for chunk in body:
                yield chunk

    return chained()


class _Feed:
    """The streamed body of a table: `{"value":[rows…],"@odata.context":…,"@odata.nextLink":…,"@odata.count":…}`."""

    def __init__(
        self,
        res: Resources,
        form: _Form,
        plan: Plan,
        condition: Condition,
        ordering: Ordering,
        options: _Options,
        request: ODataRequest,
        name: str,
        count: int | None,
    ) -> None:
        self.res = res
        self.form = form
        self.plan = plan
        self.condition = condition
        self.ordering = ordering
        self.options = options
        self.request = request
        self.name = name
        self.count = count

    def households(
        self, conn: Connection, *, after: str | None, inclusive: bool, offset: int, limit: int | None
    ) -> AsyncGenerator[Household, None]:
        return queries.households(
            conn,
            self.form.scope,
            self.form.id,
            self.condition,
            ordering=self.ordering,
            after=after,
            inclusive=inclusive,
            offset=offset,
            limit=limit,
            pruning=self.plan.pruning,
        )

    async def submissions(self) -> AsyncGenerator[bytes, None]:
        options = self.options
        top = options.top
        after = _token_instance(options.skiptoken)
        chunks: list[bytes] = [b'{"value":[']
        size = 0
        written = 0
        more = False
        last: str | None = None
        root_row = self.plan.root_row
        async with self.res.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            rows = self.households(
                conn, after=after, inclusive=False, offset=options.skip, limit=None if top is None else top + 1
            )
            async with aclosing(rows):
                async for household in rows:
                    if top is not None and written == top:
                        more = True
                        break
                    encoded = _encode(root_row(household))
                    chunks.append(encoded if written == 0 else b"," + encoded)
                    written += 1
                    last = household.instance_id
                    size += len(encoded)
                    if size >= _CHUNK or written == 1:
                        yield b"".join(chunks)
                        chunks, size = [], 0
        next_link = None
        if more and last is not None:
            if self.ordering.keyset:
                next_link = _next_link(self.request, {"instanceId": last})
            else:  # ordered by something else: no keyset to continue, so the next page is an offset
                next_link = _offset_link(self.request, options.skip + written)
        chunks.append(b"]," + _footer(self.request, self.name, next_link, self.count))
        yield b"".join(chunks)

    async def repeat_rows(self) -> AsyncGenerator[bytes, None]:
        options = self.options
        top = options.top
        repeat_after, household_after = _repeat_token(options.skiptoken)
        to_skip = options.skip
        chunks: list[bytes] = [b'{"value":[']
        size = 0
        written = 0
        more = False
        last: tuple[str, str] | None = None
        found = repeat_after is None
        async with self.res.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            rows = self.households(conn, after=household_after, inclusive=True, offset=0, limit=None)
            async with aclosing(rows):
                async for household in rows:
                    if more:
                        break
                    for row, row_id, _ in self.plan.repeat_rows(household):
                        if not found:
                            found = row_id == repeat_after
                            continue
                        if to_skip:
                            to_skip -= 1
                            continue
                        if top is not None and written == top:
                            more = True
                            break
                        encoded = _encode(row)
                        chunks.append(encoded if written == 0 else b"," + encoded)
                        written += 1
                        last = (household.instance_id, row_id)
                        size += len(encoded)
                        if size >= _CHUNK or written == 1:
                            yield b"".join(chunks)
                            chunks, size = [], 0
                    if household_after is not None and not found:
                        # Our tokens name the household of the last row: it is the first one read.
                        raise Problem.odata_repeat_id_not_found()
        if not found:
            raise Problem.odata_repeat_id_not_found()
        next_link = None
        if more and last is not None:
            next_link = _next_link(self.request, {"repeatId": last[1], "instanceId": last[0]})
        chunks.append(b"]," + _footer(self.request, self.name, next_link, self.count))
        yield b"".join(chunks)


def _repeat_token(token: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """A repeat table's $skiptoken: the last row's id, and (ours) the household that holds it."""
    if token is None:
        return None, None
    repeat_after, household_after = token.get("repeatId"), token.get("instanceId")
    if not isinstance(repeat_after, str) or not isinstance(household_after, str | None):
        raise Problem.odata_invalid_skiptoken()
    return repeat_after, household_after


def _offset_link(request: ODataRequest, skip: int) -> str:
    pairs = [(k, v) for k, v in _pairs(request.query) if k not in {"$skip", "$skiptoken"}]
    pairs.append(("$skip", str(skip)))
    query = "&".join(f"{_form_encode(k)}={_form_encode(v)}" for k, v in pairs)
    return f"{request.origin}{request.path}?{query}"


# --- one household --------------------------------------------------------------------------------------------


async def _single(
    res: Resources, form: _Form, instance_id: str, navigation: str, options: _Options, request: ODataRequest
) -> Reply:
    """Central's singleRowToOData: the rows of one household at the depth the path names, filtered by the last
    id in the path, then paged in memory ($top, $skip, $skiptoken with a repeatId)."""
    names: list[str] = []
    ids: list[str | None] = [instance_id]
    for segment in (s for s in navigation.split("/") if s):
        match = _NAVIGATION.match(segment)
        if match is None:
            raise Problem.not_found()
        names.append(match[1])
        ids.append(match[2].replace("''", "'") if match[2] is not None else None)
    target = form.tree.walk(names)
    table_name = target.table
    selection = selection_for(form.tree, target, options.select)
    plan = plan_for(form.tree, target, selection, wkt=options.wkt, expand=options.expand)
    async with res.pool.acquire() as conn:
        household = await queries.household(conn, form.scope, form.id, instance_id)
    if household is None:
        raise Problem.not_found("submission")
    rows = _single_rows(plan, household, target, names, ids)
    offset = options.skip
    token = options.skiptoken
    if token is not None:
        repeat_after = token.get("repeatId")
        if not isinstance(repeat_after, str):
            raise Problem.odata_invalid_skiptoken()
        offset = next((i + 1 for i, (_, row_id) in enumerate(rows) if row_id == repeat_after), 0)
        if offset == 0:
            raise Problem.odata_repeat_id_not_found()
    limit = options.top
    page = rows[offset:] if limit is None else rows[offset : offset + limit]
    next_link = None
    if page and limit is not None and len(rows) - (offset + limit) > 0:
        last_id = page[-1][1] if target.kind == "repeat" else None
        data = {"repeatId": last_id} if target.kind == "repeat" else {"instanceId": household.instance_id}
        next_link = _next_link(request, data)
    body = b'{"value":' + _encode([row for row, _ in page]) + b","
    return Reply(body + _footer(request, table_name, next_link, len(rows) if options.count else None))


def _single_rows(
    plan: Plan, household: Household, target: Node, names: list[str], ids: list[str | None]
) -> list[tuple[dict[str, Any], str]]:
    """(row, its __id) for the household's rows of the target table, limited to the last id the path names."""
    if target.kind != "repeat":
        return [(plan.root_row(household), household.instance_id)]
    last = max(i for i, value in enumerate(ids) if value is not None)
    rows = list(plan.repeat_rows(household))
    if last == 0:
        return [(row, row_id) for row, row_id, _ in rows]
    filter_key = "__" + "-".join(["Submissions", *names[:last]]) + "-id"
    if filter_key != target.parent_key:
        return []  # an id further up than the parent row's: Central finds nothing either
    wanted = ids[last]
    return [(row, row_id) for row, row_id, parent in rows if parent == wanted]
