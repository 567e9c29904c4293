"""All SQL of the forms capability."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from service.db.rows import many, one, optional

from .models import AttachmentRow, CollectForm, FormRow, TargetRow, VersionRow

if TYPE_CHECKING:
    from service.db.pool import Connection

    from .models import FormState

__all__ = [
    "app_user_assigned",
    "list_forms_for_collect",
    "submission_target",
    "copy_attachment_blobs",
    "delete_draft",
    "get_form",
    "get_form_by_id",
    "get_version",
    "get_version_by_string",
    "get_version_xml",
    "insert_attachments",
    "insert_form",
    "insert_version",
    "list_attachments",
    "list_forms",
    "list_published_versions",
    "publish_version",
    "set_attachment_blob",
    "set_draft",
    "set_version_xml",
    "soft_delete_form",
    "update_state",
    "version_schema",
]

_FORM = "id, project_id, xml_form_id, state, current_version_id, draft_version_id, created_at, updated_at, area_fields"
_VERSION = (
    "id, form_id, version, title, xml_md5, source_type, source_blob_id, base64_public_key, warnings, "
    "created_at, published_at"
)


async def get_form(conn: Connection, project_id: int, xml_form_id: str) -> FormRow | None:
    row = await conn.fetchrow(
        f"select {_FORM} from forms where project_id = $1 and xml_form_id = $2 and deleted_at is null",
        project_id,
        xml_form_id,
    )
    return optional(row, FormRow)


async def get_form_by_id(conn: Connection, form_id: int, *, for_update: bool = False) -> FormRow | None:
    lock = " for update" if for_update else ""
    row = await conn.fetchrow(f"select {_FORM} from forms where id = $1 and deleted_at is null{lock}", form_id)
    return optional(row, FormRow)


async def list_forms(conn: Connection, project_id: int) -> list[tuple[FormRow, VersionRow]]:
    """Every live form with the version that represents it (published, else its draft)."""
    rows = await conn.fetch(
        f"""select {", ".join("f." + c.strip() for c in _FORM.split(","))},
               {", ".join("v." + c.strip() + " as v_" + c.strip() for c in _VERSION.split(","))}
        from forms f join form_versions v on v.id = coalesce(f.current_version_id, f.draft_version_id)
        where f.project_id = $1 and f.deleted_at is null
        order by v.title, f.xml_form_id""",
        project_id,
    )
    result = []
    for row in rows:
        form = FormRow(**{k: row[k] for k in FormRow.__struct_fields__})
        version = VersionRow(**{k: row["v_" + k] for k in VersionRow.__struct_fields__})
        result.append((form, version))
    return result


async def insert_form(conn: Connection, *, project_id: int, xml_form_id: str, created_by: int | None) -> FormRow:
    row = await conn.fetchrow(
        f"insert into forms (project_id, xml_form_id, created_by) values ($1, $2, $3) returning {_FORM}",
        project_id,
        xml_form_id,
        created_by,
    )
    return one(row, FormRow)


async def insert_version(
    conn: Connection,
    *,
    form_id: int,
    version: str,
    title: str,
    xml: str,
    xml_md5: str,
    source_blob_id: int | None,
    source_type: str,
    schema: Any,
    base64_public_key: str | None,
    warnings: Any,
    created_by: int | None,
) -> VersionRow:
    row = await conn.fetchrow(
        f"""insert into form_versions (form_id, version, title, xml, xml_md5, source_blob_id, source_type,
                                       schema, base64_public_key, warnings, created_by)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning {_VERSION}""",
        form_id,
        version,
        title,
        xml,
        xml_md5,
        source_blob_id,
        source_type,
        schema,
        base64_public_key,
        warnings,
        created_by,
    )
    return one(row, VersionRow)


async def get_version(conn: Connection, version_id: int) -> VersionRow:
    row = await conn.fetchrow(f"select {_VERSION} from form_versions where id = $1", version_id)
    return one(row, VersionRow)


async def get_version_by_string(conn: Connection, form_id: int, version: str) -> VersionRow | None:
    row = await conn.fetchrow(
        f"select {_VERSION} from form_versions where form_id = $1 and version = $2 and published_at is not null",
        form_id,
        version,
    )
    return optional(row, VersionRow)


async def list_published_versions(conn: Connection, form_id: int) -> list[VersionRow]:
    rows = await conn.fetch(
        f"select {_VERSION} from form_versions where form_id = $1 and published_at is not null "
        "order by published_at desc, id desc",
        form_id,
    )
    return many(rows, VersionRow)


async def get_version_xml(conn: Connection, version_id: int) -> str:
    xml: str = await conn.fetchval("select xml from form_versions where id = $1", version_id)
    return xml


async def version_schema(conn: Connection, version_id: int) -> Any:
    return await conn.fetchval("select schema from form_versions where id = $1", version_id)


async def set_version_xml(conn: Connection, version_id: int, *, version: str, xml: str, xml_md5: str) -> None:
    await conn.execute(
        "update form_versions set version = $2, xml = $3, xml_md5 = $4 where id = $1",
        version_id,
        version,
        xml,
        xml_md5,
    )


async def set_draft(conn: Connection, form_id: int, version_id: int | None) -> None:
    await conn.execute("update forms set draft_version_id = $2, updated_at = now() where id = $1", form_id, version_id)


async def delete_draft(conn: Connection, form_id: int, version_id: int) -> None:
    await conn.execute("update forms set draft_version_id = null where id = $1", form_id)
    await conn.execute("delete from form_versions where id = $1 and published_at is null", version_id)


async def publish_version(conn: Connection, form_id: int, version_id: int) -> None:
    await conn.execute("update form_versions set published_at = now() where id = $1", version_id)
    await conn.execute(
        "update forms set current_version_id = $2, draft_version_id = null, updated_at = now() where id = $1",
        form_id,
        version_id,
    )


async def update_state(conn: Connection, form_id: int, state: FormState) -> FormRow:
    row = await conn.fetchrow(
        f"update forms set state = $2, updated_at = now() where id = $1 returning {_FORM}", form_id, state
    )
    return one(row, FormRow)


async def soft_delete_form(conn: Connection, form_id: int) -> None:
    await conn.execute("update forms set deleted_at = now() where id = $1", form_id)


async def insert_attachments(conn: Connection, version_id: int, attachments: list[tuple[str, str]]) -> None:
    await conn.executemany(
        "insert into form_attachments (form_version_id, name, kind) values ($1, $2, $3) on conflict do nothing",
        [(version_id, name, kind) for name, kind in attachments],
    )


async def copy_attachment_blobs(conn: Connection, *, source_version_id: int, target_version_id: int) -> None:
    """Carry uploaded media over to a new version, by file name, where the new version has none yet."""
    await conn.execute(
        """update form_attachments t set blob_id = s.blob_id, updated_at = s.updated_at
        from form_attachments s
        where s.form_version_id = $1 and t.form_version_id = $2 and s.name = t.name
          and s.blob_id is not null and t.blob_id is null""",
        source_version_id,
        target_version_id,
    )


async def set_attachment_blob(conn: Connection, version_id: int, name: str, blob_id: int | None) -> bool:
    status = await conn.execute(
        "update form_attachments set blob_id = $3, updated_at = now() where form_version_id = $1 and name = $2",
        version_id,
        name,
        blob_id,
    )
    return status.endswith(" 1")


async def list_attachments(conn: Connection, version_id: int) -> list[AttachmentRow]:
    rows = await conn.fetch(
        """select a.name, a.kind, a.blob_id, encode(b.md5, 'hex') as md5, b.size, b.content_type, b.storage_key,
               a.updated_at
        from form_attachments a left join blobs b on b.id = a.blob_id
        where a.form_version_id = $1 order by a.name""",
        version_id,
    )
    return many(rows, AttachmentRow)


async def list_forms_for_collect(conn: Connection, project_id: int, app_user_id: int | None) -> list[CollectForm]:
    """Published, open forms (for an app user: only those assigned), with whether they carry media."""
    rows = await conn.fetch(
        """select f.xml_form_id, v.title, v.version, v.xml_md5,
               exists (select 1 from form_attachments a where a.form_version_id = v.id
                       and a.blob_id is not null) as has_media
        from forms f join form_versions v on v.id = f.current_version_id
        where f.project_id = $1 and f.deleted_at is null and f.state = 'open'
          and ($2::bigint is null
               or exists (select 1 from form_app_users fa where fa.form_id = f.id and fa.app_user_id = $2))
        order by v.title, f.xml_form_id""",
        project_id,
        app_user_id,
    )
    return many(rows, CollectForm)


async def app_user_assigned(conn: Connection, form_id: int, app_user_id: int) -> bool:
    found = await conn.fetchval(
        "select 1 from form_app_users where form_id = $1 and app_user_id = $2", form_id, app_user_id
    )
    return found is not None


async def submission_target(conn: Connection, project_id: int, xml_form_id: str, version: str) -> TargetRow | None:
    """The form and the published version a submission names (version_id null when no such version)."""
    row = await conn.fetchrow(
        """select f.id as form_id, f.state, v.id as version_id, v.xml_md5, v.base64_public_key, f.area_fields
        from forms f left join form_versions v
          on v.form_id = f.id and v.version = $3 and v.published_at is not null
        where f.project_id = $1 and f.xml_form_id = $2 and f.deleted_at is null""",
        project_id,
        xml_form_id,
        version,
    )
    return optional(row, TargetRow)
