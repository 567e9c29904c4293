"""Structs of the forms capability: rows read from the database and the Central-shaped JSON we answer with."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from service.structs import Input, Output

from .convert import FormProblem

__all__ = [
    "AttachmentOut",
    "AttachmentRow",
    "CollectForm",
    "TargetRow",
    "FieldOut",
    "FormOut",
    "FormRow",
    "FormState",
    "FormUpdateIn",
    "VersionRow",
]

FormState = Literal["open", "closing", "closed"]
AttachmentKind = Literal["image", "audio", "video", "file"]


class FormRow(msgspec.Struct, frozen=True):
    id: int
    project_id: int
    xml_form_id: str
    state: FormState
    current_version_id: int | None
    draft_version_id: int | None
    created_at: datetime
    updated_at: datetime | None
    # Which answers hold the household's area (areas/fields.py); None: found by name.
    area_fields: dict[str, Any] | None


class VersionRow(msgspec.Struct, frozen=True):
    id: int
    form_id: int
    version: str
    title: str
    xml_md5: str
    source_type: str
    source_blob_id: int | None
    base64_public_key: str | None
    # As stored (JSON objects shaped like FormProblem); only shown again when a version is created.
    warnings: list[Any]
    created_at: datetime
    published_at: datetime | None


class CollectForm(msgspec.Struct, frozen=True):
    """A form as Collect's form list shows it."""

    xml_form_id: str
    title: str
    version: str
    xml_md5: str
    has_media: bool


class TargetRow(msgspec.Struct, frozen=True):
    """The form a submission names, and its published version with that version string (None: no such one)."""

    form_id: int
    state: FormState
    version_id: int | None
    xml_md5: str | None
    base64_public_key: str | None
    area_fields: dict[str, Any] | None


class AttachmentRow(msgspec.Struct, frozen=True):
    name: str
    kind: AttachmentKind
    blob_id: int | None
    md5: str | None
    size: int | None
    content_type: str | None
    storage_key: str | None
    updated_at: datetime | None


class FormOut(Output, kw_only=True):
    project_id: int
    xml_form_id: str
    name: str
    version: str
    hash: str
    state: FormState
    key_id: int | None = None
    enketo_id: str | None = None
    draft_token: str | None = None
    encrypted: bool
    has_draft: bool
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime | None
    warnings: list[FormProblem] = msgspec.field(default_factory=list)
    # Central answers a draft upload and a publish with {"success": true}, and pyODK reads it; we answer the form,
    # with that flag too.
    success: bool | msgspec.UnsetType = msgspec.UNSET

    @classmethod
    def of(cls, form: FormRow, version: VersionRow, *, warnings: list[FormProblem] | None = None) -> FormOut:
        return cls(
            project_id=form.project_id,
            xml_form_id=form.xml_form_id,
            name=version.title,
            version=version.version,
            hash=version.xml_md5,
            state=form.state,
            encrypted=version.base64_public_key is not None,
            has_draft=form.draft_version_id is not None,
            published_at=version.published_at,
            created_at=form.created_at,
            updated_at=form.updated_at,
            warnings=warnings if warnings is not None else [],
        )


class AttachmentOut(Output, kw_only=True):
    name: str
    type: AttachmentKind
    exists: bool
    blob_exists: bool
    dataset_exists: bool = False
    hash: str | None
    size: int | None
    content_type: str | None
    updated_at: datetime | None

    @classmethod
    def of(cls, row: AttachmentRow) -> AttachmentOut:
        return cls(
            name=row.name,
            type=row.kind,
            exists=row.blob_id is not None,
            blob_exists=row.blob_id is not None,
            hash=row.md5,
            size=row.size,
            content_type=row.content_type,
            updated_at=row.updated_at,
        )


class FieldOut(Output, kw_only=True):
    name: str
    path: str
    type: str
    binary: bool
    select_multiple: bool


class FormUpdateIn(Input, kw_only=True):
    state: FormState
