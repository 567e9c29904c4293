"""$metadata (CSDL/EDMX) and the service document of a form, shaped as Central's (lib/formats/odata.js edmxFor,
serviceDocumentFor), so Excel, Power BI and pyODK read our tables as they read Central's.

    Schema org.opendatakit.submission    ComplexType metadata (the __system fields), EnumTypes Status, ReviewState
    Schema org.opendatakit.user.<form>   EntityType Submissions (Key __id; __system; the fields; a
                                         NavigationProperty per repeat), EntityType Submissions.<repeat path> per
                                         repeat (__id, its parent's key, its fields), ComplexType <group path> per
                                         group, EntityContainer <form id> with Central's capability annotations
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from .tree import sanitize

if TYPE_CHECKING:
    from .tree import Node, Tree

__all__ = ["edmx", "service_document"]

_TYPES = {
    "int": "Edm.Int64",
    "integer": "Edm.Int64",
    "decimal": "Edm.Decimal",
    "boolean": "Edm.Boolean",
    "geopoint": "Edm.GeographyPoint",
    "geotrace": "Edm.GeographyLineString",
    "geoshape": "Edm.GeographyPolygon",
    "date": "Edm.Date",
    "dateTime": "Edm.DateTimeOffset",
}

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">
  <edmx:DataServices>
    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="org.opendatakit.submission">
      <ComplexType Name="metadata">
        <Property Name="submissionDate" Type="Edm.DateTimeOffset"/>
        <Property Name="updatedAt" Type="Edm.DateTimeOffset"/>
        <Property Name="deletedAt" Type="Edm.DateTimeOffset"/>
        <Property Name="submitterId" Type="Edm.String"/>
        <Property Name="submitterName" Type="Edm.String"/>
        <Property Name="attachmentsPresent" Type="Edm.Int64"/>
        <Property Name="attachmentsExpected" Type="Edm.Int64"/>
        <Property Name="status" Type="org.opendatakit.submission.Status"/>
        <Property Name="reviewState" Type="org.opendatakit.submission.ReviewState"/>
        <Property Name="deviceId" Type="Edm.String"/>
        <Property Name="edits" Type="Edm.Int64"/>
        <Property Name="formVersion" Type="Edm.String"/>
      </ComplexType>
      <EnumType Name="Status">
        <Member Name="notDecrypted"/>
        <Member Name="missingEncryptedFormData"/>
      </EnumType>
      <EnumType Name="ReviewState">
        <Member Name="hasIssues"/>
        <Member Name="edited"/>
        <Member Name="rejected"/>
        <Member Name="approved"/>
      </EnumType>
    </Schema>
"""

_PRIMARY_ANNOTATIONS = """\
          <Annotation Term="{cap}.ConformanceLevel" EnumMember="{cap}.ConformanceLevelType/{level}"/>
          <Annotation Term="Org.OData.Capabilities.V1.BatchSupported" Bool="false"/>
          <Annotation Term="Org.OData.Capabilities.V1.CountRestrictions">
            <Record><PropertyValue Property="Countable" Bool="true"/></Record>
          </Annotation>
          <Annotation Term="Org.OData.Capabilities.V1.FilterFunctions">
            <Record>
              <PropertyValue Property="NonCountableProperties">
                <Collection>
                  <String>eq</String>
                </Collection>
              </PropertyValue>
            </Record>
          </Annotation>
          <Annotation Term="Org.OData.Capabilities.V1.FilterFunctions">
            <Record>
              <PropertyValue Property="Filterable" Bool="true"/>
              <PropertyValue Property="RequiresFilter" Bool="false"/>
              <PropertyValue Property="NonFilterableProperties">
                <Collection>
{non_filterable}                </Collection>
              </PropertyValue>
            </Record>
          </Annotation>
          <Annotation Term="Org.OData.Capabilities.V1.SortRestrictions">
            <Record><PropertyValue Property="Sortable" Bool="false"/></Record>
          </Annotation>
          <Annotation Term="Org.OData.Capabilities.V1.ExpandRestrictions">
            <Record><PropertyValue Property="Expandable" Bool="false"/></Record>
          </Annotation>
"""


_CAPABILITIES = "Org.OData.Capabilities.V1"


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def _properties(node: Node, namespace: str) -> list[str]:
    lines = []
    for child in node.children:
        name = _attr(child.out)
        type_name = ".".join(child.parts)
        if child.kind == "group":
            lines.append(f'        <Property Name="{name}" Type="{namespace}.{type_name}"/>')
        elif child.kind == "repeat":
            lines.append(
                f'        <NavigationProperty Name="{name}" Type="Collection({namespace}.Submissions.{type_name})"/>'
            )
        else:
            lines.append(f'        <Property Name="{name}" Type="{_TYPES.get(child.type, "Edm.String")}"/>')
    return lines


def edmx(tree: Tree) -> str:
    """The metadata document of a form's published version."""
    namespace = f"org.opendatakit.user.{sanitize(tree.xml_form_id)}"
    out = [_HEAD, f'    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="{namespace}">\n']
    entity_names = ["Submissions"]
    out.append('      <EntityType Name="Submissions">\n')
    out.append('        <Key><PropertyRef Name="__id"/></Key>\n        <Property Name="__id" Type="Edm.String"/>\n')
    out.append('        <Property Name="__system" Type="org.opendatakit.submission.metadata"/>\n')
    primary = _properties(tree.root, namespace)
    out.extend(line + "\n" for line in primary)
    out.append("      </EntityType>\n")
    for repeat in tree.repeats:
        name = f"Submissions.{'.'.join(repeat.parts)}"
        entity_names.append(name)
        out.append(f'      <EntityType Name="{_attr(name)}">\n')
        out.append('        <Key><PropertyRef Name="__id"/></Key>\n        <Property Name="__id" Type="Edm.String"/>\n')
        out.append(f'        <Property Name="{_attr(repeat.parent_key)}" Type="Edm.String"/>\n')
        out.extend(line + "\n" for line in _properties(repeat, namespace))
        out.append("      </EntityType>\n")
    for group in (node for node in tree.nodes if node.kind == "group"):
        out.append(f'      <ComplexType Name="{_attr(".".join(group.parts))}">\n')
        out.extend(line + "\n" for line in _properties(group, namespace))
        out.append("      </ComplexType>\n")
    out.append(f'      <EntityContainer Name="{_attr(tree.xml_form_id)}">\n')
    primary_names = [child.out for child in tree.root.children]
    for name in entity_names:
        out.append(f'        <EntitySet Name="{_attr(name)}" EntityType="{namespace}.{_attr(name)}">\n')
        if name == "Submissions":
            listed = "".join(f"                  <PropertyPath>{_attr(p)}</PropertyPath>\n" for p in primary_names)
            out.append(_PRIMARY_ANNOTATIONS.format(non_filterable=listed, cap=_CAPABILITIES, level="Minimal"))
        out.append("        </EntitySet>\n")
    out.append("      </EntityContainer>\n    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>")
    return "".join(out)


def service_document(tree: Tree, metadata_url: str) -> dict[str, object]:
    """The service document: `Submissions` and one entity set per repeat."""
    tables = ["Submissions", *(repeat.table for repeat in tree.repeats)]
    return {
        "@odata.context": metadata_url,
        "value": [{"name": table, "kind": "EntitySet", "url": table} for table in tables],
    }
