"""The export plan and its generated SQL, without a database: every table's SQL applies the households filter
(and with it the reader's scope), and names that are not XML names never reach SQL."""

from __future__ import annotations

import pytest

from service.exports import queries
from service.exports.plan import ExportOptions, plan_tables
from service.forms.schema import FormField, FormSchema
from service.submissions.queries import HOUSEHOLD_FILTER, IN_SCOPE

SCHEMA = FormSchema(
    xml_form_id="f",
    version="1",
    title="F",
    root="data",
    fields=[
        FormField(path="/data/g", name="g", type="structure", kind="group"),
        FormField(path="/data/g/gps", name="gps", type="geopoint", geo=True),
        FormField(path="/data/people", name="people", type="structure", kind="repeat"),
        FormField(path="/data/people/name", name="name", type="string"),
        FormField(path="/data/people/visits", name="visits", type="structure", kind="repeat"),
        FormField(path="/data/people/visits/day", name="day", type="date"),
    ],
    repeats=["/data/people", "/data/people/visits"],
)


def test_every_table_reads_through_the_households_filter() -> None:
    tables = plan_tables(SCHEMA, ExportOptions(), {}, {})
    assert [t.file_name for t in tables] == ["f.csv", "f-people.csv", "f-visits.csv"]
    for table in tables:
        for sql in (queries.table_sql(table), queries.sheet_sql(table)):
            assert HOUSEHOLD_FILTER in sql
            assert IN_SCOPE in sql
    nested = queries.table_sql(tables[2])
    assert "'/people[' || r1.idx || ']' || '/visits[' || r2.idx" in nested


def test_a_name_that_is_not_an_xml_name_is_refused() -> None:
    bad = FormSchema(
        xml_form_id="f",
        version="1",
        title="F",
        root="data",
        fields=[FormField(path="/data/x'; drop table users; --", name="x", type="string")],
    )
    with pytest.raises(ValueError, match="cannot be exported"):
        plan_tables(bad, ExportOptions(), {}, {})


def test_choice_values_are_quoted_literals() -> None:
    schema = FormSchema(
        xml_form_id="f",
        version="1",
        title="F",
        root="data",
        fields=[FormField(path="/data/assets", name="assets", type="string", select_multiple=True)],
    )
    [table] = plan_tables(schema, ExportOptions(split_select_multiples=True), {}, {"/data/assets": ["o'clock"]})
    assert "? 'o''clock'" in queries.table_sql(table)
