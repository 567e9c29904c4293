"""The tables an export writes, planned once per form version from its schema, as ODK Central lays them out.

    <form>.csv              SubmissionDate, every answer outside repeats (groups flattened as group-field,
                            a geopoint as four columns -Latitude -Longitude -Altitude -Accuracy), KEY, SubmitterID,
                            SubmitterName, AttachmentsPresent, AttachmentsExpected, Status, ReviewState, DeviceID,
                            Edits, FormVersion; then ours: DistrictCode, CommuneCode, VillageCode, ReviewedAt, Stage,
                            FinalClassification (service/stages/), RiskScore (service/evidence/),
                            Classification, ClassificationMismatch (service/classification/)
    <form>-<repeat>.csv     the repeat's answers, then PARENT_KEY and KEY (uuid:…/members[1])

Ours beside Central's: after each photo (or other file) column, its -SHA256 and -URL; with splitSelectMultiples,
one 0/1 column per choice after a select_multiple (as Central); with labels, choice labels instead of values.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

import msgspec

if TYPE_CHECKING:
    from service.forms.schema import FormField, FormSchema

__all__ = ["Column", "ExportOptions", "Table", "plan_tables"]

# XForm element names are XML names; anything else would not be safe to put in generated SQL, so it is refused.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,199}$")

ColumnKind = Literal["text", "geopoint", "multiple", "option", "file", "file_sha256", "file_url"]


class ExportOptions(msgspec.Struct, frozen=True, kw_only=True):
    split_select_multiples: bool = False
    group_paths: bool = True
    # Choice labels in this language ("vi" the form's default, "en" English) instead of choice values.
    labels: Literal["vi", "en"] | None = None
    media: bool = True


class Column(msgspec.Struct, frozen=True):
    header: str
    kind: ColumnKind
    # Keys from the table's row (the household's answers, or a repeat element) to the answer.
    keys: tuple[str, ...]
    # geopoint: which part; option: the choice value; select fields: the choice list's name.
    part: str | None = None
    choices: str | None = None
    # A number (int, decimal, a geopoint's parts): a spreadsheet cell of its own type, not text.
    numeric: bool = False


class Table(msgspec.Struct, frozen=True):
    file_name: str
    # Keys from the household's answers to this repeat, one tuple per nesting level ((),) for the root table.
    repeat_chain: tuple[tuple[str, ...], ...]
    # The repeat's name as it appears in KEY (uuid:…/members[1]), per level.
    key_names: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def is_root(self) -> bool:
        return not self.repeat_chain


def _keys(path: str) -> tuple[str, ...]:
    keys = tuple(path.strip("/").split("/")[1:])
    for key in keys:
        if not _NAME.match(key):
            raise ValueError(f"the field name {key!r} cannot be exported")
    return keys


def _relative(keys: tuple[str, ...], base: tuple[str, ...]) -> tuple[str, ...]:
    return keys[len(base) :]


def plan_tables(
    schema: FormSchema,
    options: ExportOptions,
    select_lists: dict[str, str],
    split_choices: dict[str, list[str]],
) -> list[Table]:
    """`select_lists`: field path → its choice list's name (for labels); `split_choices`: field path → its choice
    values (for splitSelectMultiples)."""
    repeats = sorted(schema.repeats, key=len)

    def owner(path: str) -> str | None:
        """The innermost repeat a field is in."""
        found = None
        for repeat in repeats:
            if path.startswith(f"{repeat}/"):
                found = repeat
        return found

    def chain_of(repeat: str | None) -> list[str]:
        chain = []
        while repeat is not None:
            chain.append(repeat)
            repeat = owner(repeat)
        return list(reversed(chain))

    fields_by_owner: dict[str | None, list[FormField]] = {}
    for field in schema.fields:
        if field.kind == "field":
            fields_by_owner.setdefault(owner(field.path), []).append(field)

    tables = []
    for repeat in [None, *repeats]:
        chain = chain_of(repeat)
        base = _keys(chain[-1]) if chain else ()
        columns = [Column("SubmissionDate", "text", ())] if repeat is None else []
        for field in fields_by_owner.get(repeat, []):
            columns += _columns(field, _relative(_keys(field.path), base), options, select_lists, split_choices)
        chain_keys = []
        previous: tuple[str, ...] = ()
        for level in chain:
            keys = _keys(level)
            chain_keys.append(_relative(keys, previous))
            previous = keys
        name = schema.xml_form_id if repeat is None else f"{schema.xml_form_id}-{repeat.rsplit('/', 1)[-1]}"
        tables.append(
            Table(
                file_name=f"{name}.csv",
                repeat_chain=tuple(chain_keys),
                key_names=tuple(level.rsplit("/", 1)[-1] for level in chain),
                columns=tuple(columns),
            )
        )
    return _unique_names(tables)


def _unique_names(tables: list[Table]) -> list[Table]:
    """Two repeats with one name in different groups: Central's ~1, ~2 suffixes."""
    totals: dict[str, int] = {}
    for table in tables:
        totals[table.file_name] = totals.get(table.file_name, 0) + 1
    seen: dict[str, int] = {}
    result = []
    for table in tables:
        renamed = table
        if totals[table.file_name] > 1:
            seen[table.file_name] = seen.get(table.file_name, 0) + 1
            stem = table.file_name.removesuffix(".csv")
            renamed = msgspec.structs.replace(table, file_name=f"{stem}~{seen[table.file_name]}.csv")
        result.append(renamed)
    return result


def _columns(
    field: FormField,
    keys: tuple[str, ...],
    options: ExportOptions,
    select_lists: dict[str, str],
    split_choices: dict[str, list[str]],
) -> list[Column]:
    header = "-".join(keys) if options.group_paths else keys[-1]
    choices = select_lists.get(field.path) if options.labels else None
    if field.type == "geopoint":
        return [
            Column(f"{header}-{part}", "geopoint", keys, part=part, numeric=True)
            for part in ("Latitude", "Longitude", "Altitude", "Accuracy")
        ]
    if field.binary:
        return [
            Column(header, "file", keys),
            Column(f"{header}-SHA256", "file_sha256", keys),
            Column(f"{header}-URL", "file_url", keys),
        ]
    if field.select_multiple:
        columns = [Column(header, "multiple", keys, choices=choices)]
        if options.split_select_multiples:
            columns += [
                Column(f"{header}/{value}", "option", keys, part=value) for value in split_choices.get(field.path, [])
            ]
        return columns
    numeric = field.type in {"int", "integer", "decimal"} and choices is None
    return [Column(header, "text", keys, choices=choices, numeric=numeric)]
