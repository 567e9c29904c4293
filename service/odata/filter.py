"""OData `$filter` and `$orderby`: parsed here into a small tree, checked, and turned into one SQL condition.

What is understood is what ODK Central understands (lib/data/odata-filter.js), plus our area codes:

    members    __id, __system/{submissionDate, updatedAt, deletedAt, submitterId, reviewState,
               districtCode, communeCode, villageCode}, each also as $root/Submissions/<member>
               (repeat tables know only the $root/Submissions/… spellings, as in Central)
    literals   null, true, false, numbers, 'strings' ('' is a quote), dates (2024-01-31),
               date-times with an offset (2024-01-31T08:00:00Z, …+07:00)
    operators  eq ne lt le gt ge, and, or, not, parentheses
    functions  year month day hour minute second (of a date-time), now()

Precedence, loosest first: or, and, not, comparison. `not a eq b` is `not (a eq b)`, as in Central.
Other members are 501.5, other OData operators and functions 501.4, anything unreadable 400.18, each with
Central's message and the character position.

The SQL is built from fixed fragments only; every literal becomes a typed parameter. Equality is null-safe as in
Central (`x eq null` is `x is null`, `x ne 'a'` keeps rows where x is null), written so that an index on the
column still serves `eq` with a literal.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Literal

import msgspec

from service.errors import Problem

__all__ = [
    "Condition",
    "Member",
    "Order",
    "compile_filter",
    "parse_orderby",
    "members_for",
]

Kind = Literal["string", "number", "integer", "datetime", "boolean", "null"]


class Member(msgspec.Struct, frozen=True):
    """A filterable property: its SQL expression on the household row `s`, and its type."""

    sql: str
    kind: Kind
    deleted_at: bool = False  # naming it shows deleted households, as in Central


_SYSTEM: dict[str, Member] = {
    "__id": Member("s.instance_id", "string"),
    "__system/submissionDate": Member("s.created_at", "datetime"),
    "__system/updatedAt": Member("nullif(s.updated_at, s.created_at)", "datetime"),
    "__system/deletedAt": Member("s.deleted_at", "datetime", deleted_at=True),
    "__system/submitterId": Member("coalesce(s.submitter_user_id, s.submitter_app_user_id)", "integer"),
    "__system/reviewState": Member("s.review_state", "string"),
    # Ours: the household's area, as recorded at ingest.
    "__system/districtCode": Member("s.district_code", "string"),
    "__system/communeCode": Member("s.commune_code", "string"),
    "__system/villageCode": Member("s.village_code", "string"),
}
_ROOTED = {f"$root/Submissions/{name}": member for name, member in _SYSTEM.items()}
_SUBMISSIONS_MEMBERS = {**_SYSTEM, **_ROOTED}


def members_for(table: str) -> dict[str, Member]:
    """What a table's $filter and $orderby may name: repeat tables only reach their submission's properties."""
    return _SUBMISSIONS_MEMBERS if table == "Submissions" else _ROOTED


_SQL_TYPES: dict[Kind, str] = {
    "string": "text",
    "number": "numeric",
    "integer": "bigint",
    "datetime": "timestamptz",
    "boolean": "boolean",
    "null": "text",
}


class Condition(msgspec.Struct, frozen=True):
    """A compiled filter: SQL with `$?` for each parameter in order (numbered by `render`), and its values."""

    sql: str
    args: tuple[object, ...]
    # The filter names __system/deletedAt: deleted households are not hidden (Central's odataExcludeDeleted).
    names_deleted_at: bool

    def render(self, first: int) -> str:
        """The SQL with its parameters numbered from `first` ($first, $first+1, …)."""
        counter = iter(range(first, first + len(self.args)))
        return re.sub(r"\$\?", lambda _: f"${next(counter)}", self.sql)


TRUE = Condition("true", (), names_deleted_at=False)

# --- tokens ---------------------------------------------------------------------------------------------------

_DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,12})?)?(?:Z|[+-]\d{2}:\d{2})"
_TOKEN = re.compile(
    rf"""
    (?P<space>\s+)
  | (?P<datetime>{_DATETIME})(?![\w:.])
  | (?P<date>\d{{4}}-\d{{2}}-\d{{2}})(?![\w:.])
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])
  | (?P<string>'(?:[^']|'')*')
  | (?P<name>\$?[A-Za-z_][A-Za-z0-9_]*(?:/\$?[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<comma>,)
  """,
    re.VERBOSE,
)

_COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}
_ARITHMETIC = {"add", "sub", "mul", "div", "divby", "mod"}
_OTHER_OPERATORS = {"has", "in"}
_EXTRACT = {"year", "month", "day", "hour", "minute", "second"}
# OData functions Central does not implement (501.4, MethodCallExpression); any other name is unreadable (400.18).
_KNOWN_FUNCTIONS = {
    "contains",
    "endswith",
    "startswith",
    "length",
    "indexof",
    "substring",
    "matchesPattern",
    "tolower",
    "toupper",
    "trim",
    "concat",
    "date",
    "time",
    "fractionalseconds",
    "totaloffsetminutes",
    "totalseconds",
    "maxdatetime",
    "mindatetime",
    "round",
    "floor",
    "ceiling",
    "cast",
    "isof",
    "geo.distance",
    "geo.intersects",
    "geo.length",
    "hassubset",
    "hassubsequence",
}


class _Token(msgspec.Struct, frozen=True):
    kind: str
    text: str
    at: int


def _tokens(text: str) -> list[_Token]:
    found = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise Problem.odata_unparseable_filter(f"Unexpected character at {position}")
        if match.lastgroup != "space":
            found.append(_Token(match.lastgroup, match.group(), position))
        position = match.end()
    return found


# --- syntax ---------------------------------------------------------------------------------------------------


class _Node(msgspec.Struct, frozen=True):
    """A parsed expression: `op` is or/and/not/compare/member/literal/call/unsupported."""

    op: str
    token: _Token
    children: tuple[_Node, ...] = ()
    text: str = ""  # the source text a node covers (calls, unsupported expressions)


class _Parser:
    """Recursive descent over the tokens; only syntax is checked here, so a syntax error wins (as in Central)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise self.unexpected(None)
        self.index += 1
        return token

    def unexpected(self, token: _Token | None) -> Problem:
        if token is None or self.index == 0:
            at = len(self.text) if token is None else token.at
        else:
            previous = self.tokens[self.index - 1]
            at = previous.at + len(previous.text)  # where the expression stopped making sense
        return Problem.odata_unparseable_filter(f"Unexpected character at {at}")

    def is_word(self, words: set[str]) -> bool:
        token = self.peek()
        return token is not None and token.kind == "name" and token.text in words

    def parse(self) -> _Node:
        node = self.or_expression()
        if self.peek() is not None:
            raise self.unexpected(self.peek())
        return node

    def or_expression(self) -> _Node:
        node = self.and_expression()
        while self.is_word({"or"}):
            token = self.take()
            node = _Node("or", token, (node, self.and_expression()))
        return node

    def and_expression(self) -> _Node:
        node = self.unary()
        while self.is_word({"and"}):
            token = self.take()
            node = _Node("and", token, (node, self.unary()))
        return node

    def unary(self) -> _Node:
        if self.is_word({"not"}):
            token = self.take()
            return _Node("not", token, (self.unary(),))
        return self.comparison()

    def comparison(self) -> _Node:
        start = self.peek()
        left = self.operand()
        if self.is_word(_COMPARISONS):
            token = self.take()
            node = _Node("compare", token, (left, self.operand()))
            if self.is_word(_ARITHMETIC | _OTHER_OPERATORS) and start is not None:
                return self.unsupported(start)
            return node
        return left

    def operand(self) -> _Node:
        start = self.peek()
        node = self.primary()
        if self.is_word(_ARITHMETIC | _OTHER_OPERATORS) and start is not None:
            return self.unsupported(start)
        return node

    def unsupported(self, start: _Token) -> _Node:
        """An operator Central does not implement: read the rest so a later syntax error still wins."""
        while self.peek() is not None and self.peek().kind != "close":  # type: ignore[union-attr]
            if self.take().kind == "open":
                self.skip_group()
        return _Node("unsupported", start, text=self.text[start.at :].strip())

    def skip_group(self) -> None:
        depth = 1
        while depth:
            token = self.take()
            depth += {"open": 1, "close": -1}.get(token.kind, 0)

    def primary(self) -> _Node:
        token = self.take()
        if token.kind == "open":
            node = self.or_expression()
            if self.take().kind != "close":
                raise self.unexpected(self.tokens[self.index - 1])
            return node
        if token.kind == "name":
            following = self.peek()
            if following is not None and following.kind == "open" and following.at == token.at + len(token.text):
                return self.call(token)
            if token.text in _COMPARISONS | _ARITHMETIC | _OTHER_OPERATORS | {"and", "or", "not"}:
                raise self.unexpected(token)
            if token.text in {"null", "true", "false"}:
                return _Node("literal", token)
            return _Node("member", token)
        if token.kind in {"string", "number", "date", "datetime"}:
            return _Node("literal", token)
        raise self.unexpected(token)

    def call(self, name: _Token) -> _Node:
        if name.text not in _EXTRACT | _KNOWN_FUNCTIONS | {"now"}:
            raise self.unexpected(name)
        self.take()  # (
        arguments: list[_Node] = []
        if self.peek() is not None and self.peek().kind != "close":  # type: ignore[union-attr]
            arguments.append(self.or_expression())
            while self.peek() is not None and self.peek().kind == "comma":  # type: ignore[union-attr]
                self.take()
                arguments.append(self.or_expression())
        closing = self.take()
        if closing.kind != "close":
            raise self.unexpected(closing)
        return _Node("call", name, tuple(arguments), text=self.text[name.at : closing.at + 1])


# --- meaning --------------------------------------------------------------------------------------------------


class _Value(msgspec.Struct, frozen=True):
    """A compiled operand: SQL (with `$?` parameters), its kind, and the literal it came from (to adapt)."""

    sql: str
    args: tuple[object, ...]
    kind: Kind
    literal: _Token | None = None
    names_deleted_at: bool = False


class _Compiler:
    def __init__(self, members: dict[str, Member]) -> None:
        self.members = members

    def compile(self, node: _Node) -> _Value:
        op = node.op
        if op in {"or", "and"}:
            left, right = (self.condition(child) for child in node.children)
            return _Value(
                f"({left.sql} {op} {right.sql})",
                left.args + right.args,
                "boolean",
                names_deleted_at=left.names_deleted_at or right.names_deleted_at,
            )
        if op == "not":
            inner = self.condition(node.children[0])
            return _Value(f"(not {inner.sql})", inner.args, "boolean", names_deleted_at=inner.names_deleted_at)
        if op == "compare":
            left, right = (self.compile(child) for child in node.children)
            return _compare(node.token, left, right)
        if op == "member":
            member = self.members.get(node.token.text)
            if member is None:
                raise Problem.odata_unsupported_field(node.token.text, node.token.at)
            return _Value(member.sql, (), member.kind, names_deleted_at=member.deleted_at)
        if op == "literal":
            return _literal(node.token)
        if op == "call":
            return self.call(node)
        raise Problem.odata_unsupported_expression(node.token.at, "CommonExpression", node.text)

    def condition(self, node: _Node) -> _Value:
        value = _typed(self.compile(node), "boolean")
        if value.kind != "boolean":
            raise Problem.odata_unparseable_filter(f"Expected a condition at {node.token.at}")
        return value

    def call(self, node: _Node) -> _Value:
        name = node.token.text
        if name in _EXTRACT and len(node.children) == 1:
            argument = _typed(self.compile(node.children[0]), "datetime")
            if argument.kind != "datetime":
                raise Problem.odata_unparseable_filter(f"{name}() needs a date-time at {node.token.at}")
            return _Value(
                f"extract({name} from {argument.sql})",
                argument.args,
                "number",
                names_deleted_at=argument.names_deleted_at,
            )
        if name == "now" and not node.children:
            return _Value("now()", (), "datetime")
        raise Problem.odata_unsupported_expression(node.token.at, "MethodCallExpression", node.text)


def _literal(token: _Token) -> _Value:
    """An untyped literal: it takes a type when compared (or its own, when compared with another literal)."""
    kinds: dict[str, Kind] = {"string": "string", "number": "number", "date": "datetime", "datetime": "datetime"}
    if token.kind == "name":
        return (
            _Value("null", (), "null", literal=token)
            if token.text == "null"
            else _Value("", (), "boolean", literal=token)
        )
    return _Value("", (), kinds[token.kind], literal=token)


def _typed(value: _Value, context: Kind) -> _Value:
    """A literal as a typed parameter: typed by what it is compared with when it can be, else by itself."""
    token = value.literal
    if token is None or value.kind == "null" or value.sql:
        return value
    target: Kind = value.kind
    if token.kind == "string" and context in {"string", "integer", "number", "datetime"}:
        target = context
    elif token.kind == "number" and context == "integer":
        target = "integer" if re.fullmatch(r"-?\d+", token.text) else "number"
    text = token.text[1:-1].replace("''", "'") if token.kind == "string" else token.text
    return _Value(f"$?::{_SQL_TYPES[target]}", (_literal_value(text, target, token),), target, literal=token)


def _literal_value(text: str, target: Kind, token: _Token) -> object:
    try:
        if target == "boolean":
            return text == "true"
        if target == "string":
            return text
        if target == "integer":
            return int(text)
        if target == "number":
            return Decimal(text)
        if target == "datetime":
            return _datetime(text)
    except (ValueError, InvalidOperation, ArithmeticError):
        pass
    raise Problem.odata_unparseable_filter(f"'{text}' is not a valid {target} value at {token.at}")


def _datetime(text: str) -> datetime:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_ORDERED = {"number", "integer", "datetime", "string"}
_NUMERIC = {"number", "integer"}


def _compare(token: _Token, left: _Value, right: _Value) -> _Value:
    # A literal takes the type of the member (or function) on the other side.
    left_context = right.kind if right.literal is None else left.kind
    right_context = left.kind if left.literal is None else right.kind
    left, right = _typed(left, left_context), _typed(right, right_context)
    names_deleted_at = left.names_deleted_at or right.names_deleted_at
    args = left.args + right.args
    operator = token.text
    if operator in {"eq", "ne"}:
        if left.kind == "null" and right.kind == "null":
            sql = "true"
        elif left.kind == "null" or right.kind == "null":
            other = right if left.kind == "null" else left
            sql, args = f"({other.sql} is null)", other.args
        else:
            _check_comparable(left, right, token)
            if _is_parameter(left) != _is_parameter(right):
                # A column against a value: two-valued like Central's IS NOT DISTINCT FROM, but index-friendly.
                column, value = (right, left) if _is_parameter(left) else (left, right)
                sql = f"({column.sql} is not null and {column.sql} = {value.sql})"
                args = column.args + column.args + value.args
            else:
                sql = f"({left.sql} is not distinct from {right.sql})"
        if operator == "ne":
            sql = f"(not {sql})"
        return _Value(sql, args, "boolean", names_deleted_at=names_deleted_at)
    if left.kind == "null" or right.kind == "null":
        # Central compares with SQL null, which is never true.
        other = right if left.kind == "null" else left
        return _Value(f"({other.sql} is null and false)", other.args, "boolean", names_deleted_at=names_deleted_at)
    _check_comparable(left, right, token)
    if left.kind not in _ORDERED:
        raise Problem.odata_unparseable_filter(f"{left.kind} values cannot be ordered at {token.at}")
    symbol = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[operator]
    return _Value(f"({left.sql} {symbol} {right.sql})", args, "boolean", names_deleted_at=names_deleted_at)


def _is_parameter(value: _Value) -> bool:
    """A literal, now a bare typed parameter."""
    return value.sql.startswith("$?")


def _check_comparable(left: _Value, right: _Value, token: _Token) -> None:
    if left.kind == right.kind or (left.kind in _NUMERIC and right.kind in _NUMERIC):
        return
    raise Problem.odata_unparseable_filter(f"cannot compare {left.kind} with {right.kind} at {token.at}")


def compile_filter(expression: str | None, table: str = "Submissions") -> Condition:
    """The condition a `$filter` puts on households (`s`); TRUE without one."""
    if expression is None or not expression.strip():
        return TRUE
    tree = _Parser(expression).parse()
    value = _Compiler(members_for(table)).condition(tree)
    return Condition(value.sql, value.args, names_deleted_at=value.names_deleted_at)


# --- $orderby -------------------------------------------------------------------------------------------------


class Order(msgspec.Struct, frozen=True):
    """One `$orderby` term: the member's SQL and the direction."""

    name: str
    sql: str
    descending: bool


def parse_orderby(expression: str, table: str = "Submissions") -> list[Order]:
    """`member [asc|desc], …` as Central reads it (extra words after the direction are ignored)."""
    members = members_for(table)
    orders = []
    for term in expression.split(","):
        words = term.split()
        if not words:
            raise Problem.odata_unsupported_field(term)
        name = words[0]
        member = members.get(name)
        if member is None:
            raise Problem.odata_unsupported_field(name)
        direction = words[1] if len(words) > 1 else "asc"
        if direction.lower() not in {"asc", "desc"}:
            raise Problem.odata_unsupported_field(direction)
        orders.append(
            Order(name=name.removeprefix("$root/Submissions/"), sql=member.sql, descending=direction.lower() == "desc")
        )
    return orders
