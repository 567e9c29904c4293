"""Turning an upload into a form definition: detect XLSForm or XForm, convert or check it, locate problems."""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING, Literal

import msgspec

from service.errors import Problem
from service.media.blobs import md5_hex

from .convert import ConversionFailed, FormProblem
from .schema import FormSchema, FormXmlError, parse_xform
from .xml_edit import set_instance_version

if TYPE_CHECKING:
    from .convert import FileType, FormConverter

__all__ = [
    "SOURCE_CONTENT_TYPES",
    "Definition",
    "SourceType",
    "detect_source_type",
    "prepare_definition",
    "problem_dicts",
]

SourceType = Literal["xlsx", "xls", "xml"]
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_XLS = "application/vnd.ms-excel"
_XML = ("application/xml", "text/xml")
SOURCE_CONTENT_TYPES: dict[str, str] = {"xlsx": _XLSX, "xls": _XLS, "xml": "application/xml"}


class Definition(msgspec.Struct, frozen=True):
    """A form definition that converted and validated, ready to be stored."""

    xml: str
    xml_md5: str
    schema: FormSchema
    source_type: SourceType
    itemsets_csv: str | None
    warnings: list[FormProblem]


def detect_source_type(content_type: str | None, head: bytes) -> SourceType:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type == _XLSX:
        return "xlsx"
    if media_type == _XLS:
        return "xls"
    if media_type in _XML:
        return "xml"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "xml"
    raise Problem.unsupported_media_type(content_type, [_XLSX, _XLS, "application/xml"])


def problem_dicts(problems: list[FormProblem]) -> list[dict[str, object]]:
    return [msgspec.to_builtins(p) for p in problems]


async def prepare_definition(
    converter: FormConverter, data: bytes, *, content_type: str | None, fallback_form_id: str | None
) -> Definition:
    """Convert (XLSForm) or check (XForm) an upload; raise a 400 Problem listing what is wrong and where."""
    if not data:
        raise Problem.unparseable("a form definition", "the body is empty")
    source_type = detect_source_type(content_type, data[:16])
    warnings: list[FormProblem] = []
    itemsets_csv = None
    try:
        if source_type == "xml":
            xml = data.decode("utf-8")
            schema = await asyncio.to_thread(parse_xform, data)
            if not schema.version:
                version = hashlib.sha256(data).hexdigest()[:10]
                xml = set_instance_version(xml, version)
                schema = await asyncio.to_thread(parse_xform, xml.encode("utf-8"))
                warnings.append(
                    FormProblem(
                        severity="warning",
                        source="server",
                        message=f"The form has no version; it was given the version {version}.",
                    )
                )
            errors = await converter.validate_xform(xml)
            if any(p.severity == "error" for p in errors):
                raise Problem.xlsform_invalid(problem_dicts(errors))
            warnings.extend(errors)
        else:
            file_type: FileType = ".xlsx" if source_type == "xlsx" else ".xls"
            converted = await converter.convert(data, file_type, fallback_form_id=fallback_form_id)
            xml = converted.xml
            itemsets_csv = converted.itemsets_csv
            warnings.extend(converted.warnings)
            schema = await asyncio.to_thread(parse_xform, xml.encode("utf-8"))
    except ConversionFailed as exc:
        raise Problem.xlsform_invalid(problem_dicts(exc.problems)) from None
    except (FormXmlError, UnicodeDecodeError, ValueError) as exc:
        problem = FormProblem(severity="error", source="server", message=f"This is not a usable XForm: {exc}")
        raise Problem.xlsform_invalid(problem_dicts([problem])) from None
    if schema.xml_form_id == "data" and source_type != "xml":
        # pyxform's fallback id; the converter should have prevented it, but never store a form called "data".
        problem = FormProblem(severity="error", source="server", sheet="settings", message="form_id is missing")
        raise Problem.xlsform_invalid(problem_dicts([problem]))
    return Definition(
        xml=xml,
        xml_md5=md5_hex(xml.encode("utf-8")),
        schema=schema,
        source_type=source_type,
        itemsets_csv=itemsets_csv,
        warnings=warnings,
    )
