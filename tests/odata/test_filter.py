"""$filter and $orderby: the grammar, precedence, literals, and Central's refusals (codes and messages from
central-backend test/unit/data/odata-filter.js)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from service.errors import Problem
from service.odata.filter import compile_filter, parse_orderby

ID = "s.instance_id"
SUBMITTED = "s.created_at"
SUBMITTER = "coalesce(s.submitter_user_id, s.submitter_app_user_id)"


def sql(expression: str, table: str = "Submissions") -> tuple[str, tuple[object, ...]]:
    condition = compile_filter(expression, table)
    return condition.render(1), condition.args


def refused(expression: str, table: str = "Submissions") -> tuple[float, str]:
    with pytest.raises(Problem) as raised:
        compile_filter(expression, table)
    return raised.value.code, raised.value.message


def test_no_filter_is_true() -> None:
    assert sql("") == ("true", ())
    assert compile_filter(None).sql == "true"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("__system/submissionDate lt 2024-01-01", f"({SUBMITTED} < $1::timestamptz)"),
        ("__system/submissionDate le 2024-01-01", f"({SUBMITTED} <= $1::timestamptz)"),
        ("__system/submissionDate gt 2024-01-01", f"({SUBMITTED} > $1::timestamptz)"),
        ("__system/submissionDate ge 2024-01-01", f"({SUBMITTED} >= $1::timestamptz)"),
    ],
)
def test_ordering_comparisons(expression: str, expected: str) -> None:
    assert sql(expression) == (expected, (datetime(2024, 1, 1, tzinfo=UTC),))


def test_equality_is_null_safe_and_index_friendly() -> None:
    # eq with a value: two-valued (never null), and still `column = $n` for the index.
    assert sql("__id eq 'uuid:1'") == (f"({ID} is not null and {ID} = $1::text)", ("uuid:1",))
    # ne keeps rows where the member is null, as Central's NOT (… IS NOT DISTINCT FROM …).
    assert sql("__system/reviewState ne 'approved'") == (
        "(not (s.review_state is not null and s.review_state = $1::text))",
        ("approved",),
    )
    assert sql("__system/reviewState eq null") == ("(s.review_state is null)", ())
    assert sql("null ne __system/reviewState") == ("(not (s.review_state is null))", ())
    assert sql("null eq null") == ("true", ())
    assert sql("null ne null") == ("(not true)", ())
    # Two members: IS NOT DISTINCT FROM.
    assert sql("__system/updatedAt eq __system/submissionDate") == (
        f"(nullif(s.updated_at, s.created_at) is not distinct from {SUBMITTED})",
        (),
    )


def test_precedence_not_and_or_parentheses() -> None:
    a, b, c = "__id eq 'a'", "__id eq 'b'", "__id eq 'c'"
    expected = "({0} or ({1} and {2}))"
    eq = f"({ID} is not null and {ID} = ${{}}::text)"
    assert sql(f"{a} or {b} and {c}")[0] == expected.format(eq.format(1), eq.format(2), eq.format(3))
    assert sql(f"({a} or {b}) and {c}")[0] == f"(({eq.format(1)} or {eq.format(2)}) and {eq.format(3)})"
    # `not` binds tighter than and/or, looser than a comparison: `not a eq b` is `not (a eq b)`.
    assert sql(f"not {a} and {b}")[0] == f"((not {eq.format(1)}) and {eq.format(2)})"
    assert sql(f"not ({a} or {b})")[0] == f"(not ({eq.format(1)} or {eq.format(2)}))"
    assert sql(f"not not {a}")[0] == f"(not (not {eq.format(1)}))"


def test_literals() -> None:
    assert sql("__id eq 'it''s'")[1] == ("it's",)
    assert sql("__system/submitterId eq 5") == (f"({SUBMITTER} is not null and {SUBMITTER} = $1::bigint)", (5,))
    assert sql("__system/submitterId eq '5'")[1] == (5,)  # Central compares submitterId as a number
    assert sql("__system/submitterId lt 5.5")[1] == (Decimal("5.5"),)
    assert sql("__system/submissionDate gt 2024-05-06T07:08:09.123+07:00")[1] == (
        datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=timezone(timedelta(hours=7))),
    )
    assert sql("__system/submissionDate gt 2024-05-06T07:08Z")[1] == (datetime(2024, 5, 6, 7, 8, tzinfo=UTC),)
    assert sql("__system/submissionDate gt '2024-05-06'")[1] == (datetime(2024, 5, 6, tzinfo=UTC),)
    assert sql("3 eq 5") == ("($1::numeric is not distinct from $2::numeric)", (Decimal(3), Decimal(5)))
    assert sql("true") == ("$1::boolean", (True,))


def test_date_functions_and_now() -> None:
    assert sql("year(__system/submissionDate) eq 2024") == (
        f"(extract(year from {SUBMITTED}) is not null and extract(year from {SUBMITTED}) = $1::numeric)",
        (Decimal(2024),),
    )
    for name in ("month", "day", "hour", "minute", "second"):
        assert f"extract({name} from" in sql(f"{name}(__system/updatedAt) ge 1")[0]
    assert sql("__system/submissionDate lt now()") == (f"({SUBMITTED} < now())", ())


def test_members_with_root_prefix_and_area_codes() -> None:
    assert sql("$root/Submissions/__system/submitterId eq 2")[0].startswith(f"({SUBMITTER} is not null")
    assert sql("__system/communeCode eq '19753'")[0] == "(s.commune_code is not null and s.commune_code = $1::text)"
    assert "s.district_code" in sql("__system/districtCode eq '474'")[0]
    assert "s.village_code" in sql("__system/villageCode eq '1'")[0]
    # Repeat tables reach only their submission's properties, spelled $root/Submissions/… (as Central).
    assert sql("$root/Submissions/__id eq 'x'", "Submissions.members")[1] == ("x",)
    assert refused("__id eq 'x'", "Submissions.members")[0] == 501.5


def test_deleted_at_shows_deleted_households() -> None:
    assert not compile_filter("__id eq 'a'").names_deleted_at
    assert compile_filter("__system/deletedAt ne null").names_deleted_at
    assert compile_filter("year($root/Submissions/__system/deletedAt) eq 2024").names_deleted_at
    assert compile_filter("not (__system/updatedAt ge __system/deletedAt)").names_deleted_at


@pytest.mark.parametrize(
    ("expression", "code", "message"),
    [
        # Central's own cases, same codes and messages.
        (
            "hello my dear",
            400.18,
            "The OData filter expression you provided could not be parsed: Unexpected character at 5",
        ),
        (
            "123 eq myfield",
            501.5,
            "The given OData filter expression references fields not supported by this server: myfield at 7",
        ),
        (
            "3 add 4",
            501.4,
            "The given OData filter expression uses features not supported by this server: "
            'CommonExpression at 0 ("3 add 4")',
        ),
        (
            "123 eq trim(' 123 ')",
            501.4,
            "The given OData filter expression uses features not supported by this server: "
            "MethodCallExpression at 7 (\"trim(' 123 ')\")",
        ),
    ],
)
def test_centrals_refusals(expression: str, code: float, message: str) -> None:
    assert refused(expression) == (code, message)


@pytest.mark.parametrize(
    "expression",
    [
        "123 eq somethingwhichneverexisted()",
        "123 eq NOW()",
        "123 eq YEAR(now())",
        "(__id eq 'a'",
        "__id eq 'a')",
        "__id eq",
        "eq 'a'",
        "__id eq 'a' and",
        "'unterminated",
        "__id eq 'a' $",
    ],
)
def test_unreadable_expressions_are_400_18(expression: str) -> None:
    code, message = refused(expression)
    assert code == 400.18
    assert message.startswith("The OData filter expression you provided could not be parsed: Unexpected ")


@pytest.mark.parametrize(
    ("expression", "code"),
    [
        ("__system/submitterName eq 'A'", 501.5),  # not filterable in Central either
        ("hh_name eq 'A'", 501.5),  # form fields are not filterable
        ("__id in ('a', 'b')", 501.4),
        ("__system/edits mul 2 eq 4", 501.4),
        ("contains(__id, 'a')", 501.4),
        ("__id eq 3", 400.18),  # a string member against a number
        ("__system/submitterId eq 'x'", 400.18),
        ("__system/submissionDate gt '2024-13-45'", 400.18),
        ("year(__id) eq 3", 400.18),
        ("__id", 400.18),  # not a condition
        ("__system/reviewState lt true", 400.18),
    ],
)
def test_other_refusals(expression: str, code: float) -> None:
    assert refused(expression)[0] == code


def test_orderby() -> None:
    [one] = parse_orderby("__system/submissionDate desc")
    assert (one.sql, one.descending) == (SUBMITTED, True)
    two = parse_orderby("  __system/updatedAt   AsC , __id")
    assert [(o.name, o.descending) for o in two] == [("__system/updatedAt", False), ("__id", False)]
    assert parse_orderby("__system/updatedAt ASC DESC OTHER STUFF")[0].descending is False  # as Central
    for bad, text in (("__system/updatedAt UP", "UP"), ("myfield asc", "myfield"), ("__id ne 5 desc", "ne")):
        with pytest.raises(Problem) as raised:
            parse_orderby(bad)
        assert raised.value.code == 501.5
        assert raised.value.message.endswith(f"not supported by this server: {text}")
