"""$metadata: well-formed EDMX whose every type reference resolves, with Central's names and types
(lib/formats/odata.js edmxFor), and the service document."""

from __future__ import annotations

from lxml import etree

from service.forms.schema import parse_xform
from service.odata.edm import edmx, service_document
from service.odata.tree import Tree

EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"

# A group (with a geopoint), a repeat (with a decimal and a nested group), an image, a select_multiple, and names
# that need sanitising.
FORM = b"""<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
    xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">
  <h:head><h:title>Census</h:title><model>
    <instance><data id="census-2024" version="7">
      <hh_name/><hh_size/><visited/><born/><when/>
      <location><gps/><commune/></location>
      <member jr:template=""><name/><income/><health><insured/></health></member>
      <photo/><assets/><q1.8/>
      <meta><instanceID/><instanceName/></meta>
    </data></instance>
    <bind nodeset="/data/hh_name" type="string"/>
    <bind nodeset="/data/hh_size" type="int"/>
    <bind nodeset="/data/visited" type="boolean"/>
    <bind nodeset="/data/born" type="date"/>
    <bind nodeset="/data/when" type="dateTime"/>
    <bind nodeset="/data/location/gps" type="geopoint"/>
    <bind nodeset="/data/location/commune" type="string"/>
    <bind nodeset="/data/member/name" type="string"/>
    <bind nodeset="/data/member/income" type="decimal"/>
    <bind nodeset="/data/member/health/insured" type="string"/>
    <bind nodeset="/data/photo" type="binary"/>
    <bind nodeset="/data/assets" type="string"/>
    <bind nodeset="/data/meta/instanceID" type="string"/>
  </model></h:head>
  <h:body>
    <group ref="/data/member"><repeat nodeset="/data/member">
      <input ref="/data/member/name"/><input ref="/data/member/income"/>
    </repeat></group>
    <upload ref="/data/photo" mediatype="image/*"/>
    <select ref="/data/assets"><item><value>tv</value></item></select>
  </h:body>
</h:html>"""


def parsed() -> tuple[str, etree._Element]:
    text = edmx(Tree(parse_xform(FORM)))
    return text, etree.fromstring(text.encode())


def properties(element: etree._Element) -> dict[str | None, str | None]:
    return {p.get("Name"): p.get("Type") for p in element if p.tag in {f"{EDM}Property", f"{EDM}NavigationProperty"}}


def test_edmx_is_centrals_shape() -> None:
    text, root = parsed()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<edmx:Edmx')
    assert root.tag == f"{EDMX}Edmx"
    assert root.get("Version") == "4.0"
    system, user = root.find(f"{EDMX}DataServices").findall(f"{EDM}Schema")  # type: ignore[union-attr]
    assert system.get("Namespace") == "org.opendatakit.submission"
    metadata = system.find(f"{EDM}ComplexType[@Name='metadata']")
    assert metadata is not None
    assert properties(metadata)["submitterId"] == "Edm.String"
    assert [m.get("Name") for m in system.find(f"{EDM}EnumType[@Name='ReviewState']")] == [  # type: ignore[union-attr]
        "hasIssues",
        "edited",
        "rejected",
        "approved",
    ]
    namespace = "org.opendatakit.user.census_2024"
    assert user.get("Namespace") == namespace
    entities = {e.get("Name"): e for e in user.findall(f"{EDM}EntityType")}
    assert list(entities) == ["Submissions", "Submissions.member"]
    submissions = entities["Submissions"]
    assert submissions.find(f"{EDM}Key/{EDM}PropertyRef").get("Name") == "__id"  # type: ignore[union-attr]
    assert properties(submissions) == {
        "__id": "Edm.String",
        "__system": "org.opendatakit.submission.metadata",
        "hh_name": "Edm.String",
        "hh_size": "Edm.Int64",
        "visited": "Edm.Boolean",
        "born": "Edm.Date",
        "when": "Edm.DateTimeOffset",
        "location": f"{namespace}.location",
        "member": f"Collection({namespace}.Submissions.member)",
        "photo": "Edm.String",  # an image is its file name
        "assets": "Edm.String",  # select_multiple: space-separated
        "q1_8": "Edm.String",
        "meta": f"{namespace}.meta",
    }
    assert submissions.find(f"{EDM}NavigationProperty[@Name='member']") is not None
    assert properties(entities["Submissions.member"]) == {
        "__id": "Edm.String",
        "__Submissions-id": "Edm.String",
        "name": "Edm.String",
        "income": "Edm.Decimal",
        "health": f"{namespace}.member.health",
    }
    complex_types = {c.get("Name"): properties(c) for c in user.findall(f"{EDM}ComplexType")}
    assert complex_types == {
        "location": {"gps": "Edm.GeographyPoint", "commune": "Edm.String"},
        "member.health": {"insured": "Edm.String"},
        "meta": {"instanceID": "Edm.String", "instanceName": "Edm.String"},
    }
    container = user.find(f"{EDM}EntityContainer")
    assert container is not None
    assert container.get("Name") == "census-2024"
    sets = {s.get("Name"): s.get("EntityType") for s in container.findall(f"{EDM}EntitySet")}
    assert sets == {"Submissions": f"{namespace}.Submissions", "Submissions.member": f"{namespace}.Submissions.member"}
    paths = [p.text for p in container.iter(f"{EDM}PropertyPath")]
    assert paths == [c for c in properties(submissions) if c and not c.startswith("__")]


def test_every_type_reference_resolves() -> None:
    _, root = parsed()
    declared = set()
    for schema in root.iter(f"{EDM}Schema"):
        for kind in ("EntityType", "ComplexType", "EnumType"):
            declared |= {f"{schema.get('Namespace')}.{t.get('Name')}" for t in schema.findall(f"{EDM}{kind}")}
    for element in root.iter(f"{EDM}Property", f"{EDM}NavigationProperty"):
        type_name = element.get("Type", "").removeprefix("Collection(").removesuffix(")")
        assert type_name.startswith("Edm.") or type_name in declared, type_name
    for entity_set in root.iter(f"{EDM}EntitySet"):
        assert entity_set.get("EntityType") in declared


def test_service_document_lists_the_tables() -> None:
    document = service_document(
        Tree(parse_xform(FORM)), "https://example.org/v1/projects/1/forms/census-2024.svc/$metadata"
    )
    assert document == {
        "@odata.context": "https://example.org/v1/projects/1/forms/census-2024.svc/$metadata",
        "value": [
            {"name": "Submissions", "kind": "EntitySet", "url": "Submissions"},
            {"name": "Submissions.member", "kind": "EntitySet", "url": "Submissions.member"},
        ],
    }
