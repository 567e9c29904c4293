"""Row shaping: households as Central's OData rows, checked against central-backend's own fixtures and expected
values (test/data/xml.js doubleRepeat; test/integration/api/odata.js; test/unit/data/odata.js)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from service.errors import Problem
from service.forms.schema import parse_xform
from service.odata.rows import EVERYTHING, Household, js_number, plan_for, repeat_id, selection_for
from service.odata.tree import Tree, sanitize
from service.submissions.xml import extract_answers, parse_submission

# central-backend test/data/xml.js: forms.doubleRepeat and instances.doubleRepeat.double
DOUBLE_REPEAT_FORM = b"""<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
    xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">
  <h:head>
    <model>
      <instance>
        <data id="doubleRepeat" orx:version="1.0">
          <orx:meta><orx:instanceID/></orx:meta>
          <name/>
          <children>
            <child>
              <name/>
              <toys><toy><name/></toy></toys>
            </child>
          </children>
        </data>
      </instance>
      <bind nodeset="/data/orx:meta/orx:instanceID" preload="uid" type="string"/>
      <bind nodeset="/data/name" type="string"/>
      <bind nodeset="/data/children/child/name" type="string"/>
      <bind nodeset="/data/children/child/toys/toy/name" type="string"/>
    </model>
  </h:head>
  <h:body>
    <input ref="/data/name"><label>What is your name?</label></input>
    <group ref="/data/children/child">
      <label>Child</label>
      <repeat nodeset="/data/children/child">
        <input ref="/data/children/child/name"><label>Child's name?</label></input>
        <group ref="/data/children/child/toys">
          <label>Child</label>
          <repeat nodeset="/data/children/child/toys/toy">
            <input ref="/data/children/child/toys/toy/name"><label>Toy's name?</label></input>
          </repeat>
        </group>
      </repeat>
    </group>
  </h:body>
</h:html>"""

DOUBLE = b"""<data id="doubleRepeat" version="1.0" xmlns:orx="http://openrosa.org/xforms">
    <orx:meta><orx:instanceID>double</orx:instanceID></orx:meta>
    <name>Vick</name>
    <children>
      <child><name>Alice</name></child>
      <child>
        <name>Bob</name>
        <toys>
          <toy><name>Twilight Sparkle</name></toy><toy><name>Pinkie Pie</name></toy>
          <toy><name>Applejack</name></toy><toy><name>Spike</name></toy>
        </toys>
      </child>
      <child>
        <name>Chelsea</name>
        <toys>
          <toy><name>Rainbow Dash</name></toy><toy><name>Rarity</name></toy>
          <toy><name>Fluttershy</name></toy><toy><name>Princess Luna</name></toy>
        </toys>
      </child>
    </children>
  </data>"""

# Central's expected child ids (test/integration/api/odata.js "should return subtable results").
ALICE, BOB, CHELSEA = (
    "46ebf42ee83ddec5028c42b2c054402d1e700208",
    "b6e93a81a53eed0566e65e472d4a4b9ae383ee6d",
    "8954b393f82c1833abb19be08a3d6cb382171f54",
)


def household(instance_id: str, answers: dict[str, Any] | None, **changes: Any) -> Household:
    values: dict[str, Any] = {
        "id": 1,
        "instance_id": instance_id,
        "submitter_id": 5,
        "submitter_name": "Alice",
        "device_id": None,
        "review_state": None,
        "form_version": "",
        "encrypted": False,
        "created_at": datetime(2017, 9, 20, 17, 10, 43, tzinfo=UTC),
        "updated_at": None,
        "deleted_at": None,
        "attachments_present": 0,
        "attachments_expected": 0,
        "edits": 0,
        "answers": answers,
    }
    values.update(changes)
    return Household(**values)


def shaped(form: bytes, instance: bytes) -> tuple[Tree, Household]:
    schema = parse_xform(form)
    facts = parse_submission(instance)
    answers = extract_answers(facts.root, {f.path: f for f in schema.fields})
    return Tree(schema), household(facts.instance_id, answers.data)


def rows(tree: Tree, row: Household, table: str, *, expand: bool = False, wkt: bool = False) -> list[dict[str, Any]]:
    target = tree.table(table)
    return plan_for(tree, target, EVERYTHING, wkt=wkt, expand=expand).rows(row)


def test_repeat_ids_follow_centrals_formula() -> None:
    assert repeat_id(["Submissions#double", "children#", "child#1"]) == BOB
    assert hashlib.sha1(b"Submissions#nulls%%sun#0").hexdigest() == repeat_id(["Submissions#nulls", "sun#0"])
    assert repeat_id(["Submissions#nulls", "sun#0"]) == "68874cc5985b68898fbd0af1156e12b6270820f7"


def test_the_root_row_nests_groups_and_links_repeats() -> None:
    tree, row = shaped(DOUBLE_REPEAT_FORM, DOUBLE)
    [root] = rows(tree, row, "Submissions")
    assert root == {
        "meta": {"instanceID": "double"},
        "name": "Vick",
        "children": {"child@odata.navigationLink": "Submissions('double')/children/child"},
        "__id": "double",
        "__system": {
            "submissionDate": datetime(2017, 9, 20, 17, 10, 43, tzinfo=UTC),
            "updatedAt": None,
            "deletedAt": None,
            "submitterId": "5",
            "submitterName": "Alice",
            "attachmentsPresent": 0,
            "attachmentsExpected": 0,
            "status": None,
            "reviewState": None,
            "deviceId": None,
            "edits": 0,
            "formVersion": "",
        },
    }
    # Central's key order: the form's fields, then __id and __system, then repeat links.
    assert list(root) == ["meta", "name", "children", "__id", "__system"]


def test_a_repeat_table_matches_centrals_subtable() -> None:
    tree, row = shaped(DOUBLE_REPEAT_FORM, DOUBLE)
    children = rows(tree, row, "Submissions.children.child")
    # test/integration/api/odata.js "should return subtable results", key for key.
    assert children == [
        {"__id": ALICE, "__Submissions-id": "double", "name": "Alice", "toys": {}},
        {
            "__id": BOB,
            "__Submissions-id": "double",
            "name": "Bob",
            "toys": {"toy@odata.navigationLink": f"Submissions('double')/children/child('{BOB}')/toys/toy"},
        },
        {
            "__id": CHELSEA,
            "__Submissions-id": "double",
            "name": "Chelsea",
            "toys": {"toy@odata.navigationLink": f"Submissions('double')/children/child('{CHELSEA}')/toys/toy"},
        },
    ]
    toys = rows(tree, row, "Submissions.children.child.toys.toy")
    assert [t["name"] for t in toys] == [
        "Twilight Sparkle",
        "Pinkie Pie",
        "Applejack",
        "Spike",
        "Rainbow Dash",
        "Rarity",
        "Fluttershy",
        "Princess Luna",
    ]
    # A nested repeat's parent key names the enclosing repeat's path, and its ids restart per child.
    assert {t["__Submissions-children-child-id"] for t in toys[:4]} == {BOB}
    assert toys[0]["__id"] == repeat_id(["Submissions#double", "children#", f"child#{1}", "toys#", "toy#0"])
    assert toys[4]["__id"] == repeat_id(["Submissions#double", "children#", "child#2", "toys#", "toy#0"])


def test_expand_nests_every_repeat() -> None:
    tree, row = shaped(DOUBLE_REPEAT_FORM, DOUBLE)
    [root] = rows(tree, row, "Submissions", expand=True)
    children = root["children"]["child"]
    assert [c["name"] for c in children] == ["Alice", "Bob", "Chelsea"]
    assert [c["__id"] for c in children] == [ALICE, BOB, CHELSEA]
    assert [t["name"] for t in children[1]["toys"]["toy"]] == ["Twilight Sparkle", "Pinkie Pie", "Applejack", "Spike"]
    assert children[0]["toys"] == {}
    assert "__Submissions-id" not in children[0]


TYPES_FORM = b"""<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">
  <h:head><model>
    <instance><data id="types" version="3">
      <int/><decimal/><flag/><geopoint/><geopointNoAlt/><trace/><shape/><when/><whenCorrect/><day/>
      <text/><many/><photo/><g><inner/></g><q1.8/><_42/>
      <meta><instanceID/></meta>
    </data></instance>
    <bind nodeset="/data/int" type="int"/>
    <bind nodeset="/data/decimal" type="decimal"/>
    <bind nodeset="/data/flag" type="boolean"/>
    <bind nodeset="/data/geopoint" type="geopoint"/>
    <bind nodeset="/data/geopointNoAlt" type="geopoint"/>
    <bind nodeset="/data/trace" type="geotrace"/>
    <bind nodeset="/data/shape" type="geoshape"/>
    <bind nodeset="/data/when" type="dateTime"/>
    <bind nodeset="/data/whenCorrect" type="dateTime"/>
    <bind nodeset="/data/day" type="date"/>
    <bind nodeset="/data/text" type="string"/>
    <bind nodeset="/data/many" type="string"/>
    <bind nodeset="/data/photo" type="binary"/>
    <bind nodeset="/data/g/inner" type="int"/>
  </model></h:head>
  <h:body>
    <select ref="/data/many"><label>Many</label></select>
    <upload ref="/data/photo" mediatype="image/*"><label>Photo</label></upload>
  </h:body>
</h:html>"""

TYPES = b"""<data id="types" version="3">
  <int>42</int><decimal>3.14</decimal><flag>1</flag><geopoint>4.8 15.16 23.42 108</geopoint>
  <geopointNoAlt>11.38 -11.38</geopointNoAlt>
  <trace>1 2 3 4;5 6 7 8</trace><shape>1 2;3 4;5 6;1 2</shape>
  <when>2019-01-01T00:00:00.000-08</when><whenCorrect>2019-01-01T00:00:00.000-08:00</whenCorrect>
  <day>2019-01-01</day><text>hello</text><many>a b  c</many><photo>1.jpg</photo><g/>
  <meta><instanceID>types</instanceID></meta>
</data>"""


def test_values_are_typed_as_centrals() -> None:
    tree, row = shaped(TYPES_FORM, TYPES)
    [root] = rows(tree, row, "Submissions")
    assert root["int"] == 42
    assert root["decimal"] == 3.14
    assert root["flag"] == "true"  # booleans are strings in Central's OData
    assert root["geopoint"] == {"type": "Point", "coordinates": [15.16, 4.8, 23.42], "properties": {"accuracy": 108}}
    assert root["geopointNoAlt"] == {"type": "Point", "coordinates": [-11.38, 11.38]}
    assert root["trace"] == {"type": "LineString", "coordinates": [[2, 1, 3], [6, 5, 7]]}
    assert root["when"] == root["whenCorrect"] == "2019-01-01T00:00:00.000-08:00"
    assert (root["day"], root["text"], root["many"], root["photo"]) == ("2019-01-01", "hello", "a b c", "1.jpg")
    assert root["g"] == {"inner": None}  # an empty group still lists its fields
    # Identifiers are sanitised as Central does: q1.8 → q1_8; a leading digit/underscore rule.
    assert (root["q1_8"], root["_42"]) == (None, None)
    [wkt] = rows(tree, row, "Submissions", wkt=True)
    assert wkt["geopoint"] == "POINT (15.16 4.8 23.42)"
    assert wkt["geopointNoAlt"] == "POINT (-11.38 11.38)"
    assert wkt["trace"] == "LINESTRING (2 1 3,6 5 7)"
    assert wkt["shape"] == "POLYGON ((2 1,4 3,6 5,2 1))"


def test_encrypted_households_show_only_their_metadata() -> None:
    tree, _ = shaped(TYPES_FORM, TYPES)
    sealed = household("sealed", None, encrypted=True, attachments_present=1, attachments_expected=2)
    [root] = rows(tree, sealed, "Submissions")
    assert list(root) == ["__id", "__system"]
    assert root["__system"]["status"] == "notDecrypted"
    double, _ = shaped(DOUBLE_REPEAT_FORM, DOUBLE)
    assert rows(double, sealed, "Submissions.children.child") == []


def test_sanitize_matches_centrals_identifiers() -> None:
    assert [sanitize(n) for n in ("q1.8", "42", "_ok", "a-b--c", "été", "x y")] == [
        "q1_8",
        "_42",
        "_ok",
        "a_b_c",
        "__t_",
        "x_y",
    ]


def test_js_number_prints_as_javascript() -> None:
    assert [js_number(v) for v in (560.0, 107.2931, 4, -0.5, 1e21)] == ["560", "107.2931", "4", "-0.5", "1e+21"]


def test_select_keeps_what_central_keeps() -> None:
    tree, row = shaped(DOUBLE_REPEAT_FORM, DOUBLE)
    root = tree.table("Submissions")
    selection = selection_for(tree, root, "name,__system/submitterId")
    [picked] = plan_for(tree, root, selection, wkt=False, expand=False).rows(row)
    assert picked == {"name": "Vick", "__system": {"submitterId": "5"}}
    selection = selection_for(tree, root, "__id,meta")
    [picked] = plan_for(tree, root, selection, wkt=False, expand=False).rows(row)
    assert picked == {"meta": {"instanceID": "double"}, "__id": "double"}
    child = tree.table("Submissions.children.child")
    selection = selection_for(tree, child, "name,__Submissions-id")
    assert plan_for(tree, child, selection, wkt=False, expand=False).rows(row)[0] == {
        "name": "Alice",
        "__Submissions-id": "double",
    }
    with pytest.raises(Problem) as unknown:
        selection_for(tree, root, "nope")
    assert (unknown.value.code, unknown.value.message) == (400.23, "Could not find a property named 'nope'")
    with pytest.raises(Problem) as inside_repeat:
        selection_for(tree, root, "children/child/name")
    assert inside_repeat.value.code == 400.24
    with pytest.raises(Problem):
        selection_for(tree, child, "__system")  # repeat tables have no __system


def test_unknown_tables_are_not_found() -> None:
    tree, _ = shaped(DOUBLE_REPEAT_FORM, DOUBLE)
    assert sorted(tree.tables) == ["Submissions.children.child", "Submissions.children.child.toys.toy"]
    for name in ("Submissions.children", "Submissions.name", "Submissions.nope", "Other"):
        with pytest.raises(Problem) as missing:
            tree.table(name)
        assert missing.value.code == 404.1
