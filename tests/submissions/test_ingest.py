"""The ingest rules as a plain service function, without HTTP: new, split, retry, conflict, edit, bad files."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.errors import Problem
from service.forms import service as forms
from service.projects.service import ensure_default_project
from service.submissions.service import ingest_submission
from tests.support.collect import jpeg_bytes
from tests.support.submission import new_instance_id, received, submission_xml
from tests.support.xlsform import SIMPLE_SURVEY, XLSX, xlsx

if TYPE_CHECKING:
    from service.resources import Resources
    from service.submissions.service import IngestResult

FRONT, ROOF = "1732460000001.jpg", "1732460000002.jpg"


@pytest.fixture
async def project(resources: Resources) -> int:
    project_id = await ensure_default_project(resources, "Test")
    await forms.create_form(
        resources,
        await access_to(resources, SYSTEM, project_id),
        xlsx(SIMPLE_SURVEY, form_id="household", version="1"),
        content_type=XLSX,
        fallback_form_id=None,
        publish=True,
        ignore_warnings=True,
    )
    return project_id


async def ingest(resources: Resources, project: int, xml: bytes, files: list[tuple[str, bytes]]) -> IngestResult:
    return await ingest_submission(
        resources,
        await access_to(resources, SYSTEM, project),
        received(resources.store, xml, files),
        device_id="collect:x",
        user_agent="test",
    )


async def fetch(resources: Resources, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with resources.pool.acquire() as conn:
        return [dict(row) for row in await conn.fetch(sql, *args)]


def spool_is_empty(resources: Resources) -> bool:
    return not list(resources.settings.media_root.joinpath(".spool").iterdir())


async def test_new_submission_is_stored_with_typed_answers(resources: Resources, project: int) -> None:
    instance = new_instance_id()
    front, roof = jpeg_bytes(seed=1), jpeg_bytes(seed=2)
    result = await ingest(resources, project, submission_xml(instance_id=instance), [(FRONT, front), (ROOF, roof)])
    assert (result.outcome, result.expected, result.present) == ("created", 2, 2)
    [row] = await fetch(
        resources,
        """select s.instance_id, s.latitude, s.longitude, s.altitude, s.accuracy, s.instance_name, s.device_id,
                  s.review_state, v.answers, v.is_current
           from submissions s join submission_versions v on v.id = s.current_version_id""",
    )
    assert row["instance_id"] == instance
    assert (row["latitude"], row["longitude"], row["altitude"], row["accuracy"]) == (16.2154, 107.2931, 560.0, 4.5)
    assert row["instance_name"] == "Nguyễn Văn A"
    assert row["review_state"] is None
    answers = row["answers"]
    assert answers["hh_size"] == 4
    assert answers["hh_gps"] == {
        "type": "Point",
        "coordinates": [107.2931, 16.2154, 560.0],
        "properties": {"accuracy": 4.5},
    }
    assert answers["photo_front"] == FRONT
    assert answers["meta"]["instanceID"] == instance
    attachments = await fetch(
        resources,
        """select a.name, a.field_path, encode(b.sha256, 'hex') as sha, b.storage_key, b.content_type
           from submission_attachments a join blobs b on b.id = a.blob_id order by a.name""",
    )
    assert [(a["name"], a["field_path"], a["content_type"]) for a in attachments] == [
        (FRONT, "/data/photo_front", "image/jpeg"),
        (ROOF, "/data/photo_roof", "image/jpeg"),
    ]
    for attachment in attachments:
        assert await resources.store.exists(attachment["storage_key"])
        assert FRONT not in attachment["storage_key"]
    assert spool_is_empty(resources)


async def test_split_upload_completes_the_household(resources: Resources, project: int) -> None:
    xml = submission_xml()
    first = await ingest(resources, project, xml, [(FRONT, jpeg_bytes(seed=3))])
    assert (first.outcome, first.expected, first.present) == ("created", 2, 1)
    second = await ingest(resources, project, xml, [(ROOF, jpeg_bytes(seed=4))])
    assert (second.outcome, second.submission_id, second.present) == ("duplicate", first.submission_id, 2)
    [counts] = await fetch(resources, "select attachments_expected, attachments_present from submissions")
    assert counts == {"attachments_expected": 2, "attachments_present": 2}


async def test_identical_resend_changes_nothing_and_different_xml_is_409(resources: Resources, project: int) -> None:
    instance = new_instance_id()
    xml = submission_xml(instance_id=instance)
    files = [(FRONT, jpeg_bytes(seed=5)), (ROOF, jpeg_bytes(seed=6))]
    first = await ingest(resources, project, xml, files)
    again = await ingest(resources, project, xml, files)
    assert again.outcome == "duplicate"
    assert again.submission_id == first.submission_id
    with pytest.raises(Problem) as conflict:
        await ingest(resources, project, submission_xml(instance_id=instance, head="Someone else"), files)
    assert conflict.value.code == 409.1
    assert [r["count"] for r in await fetch(resources, "select count(*) from submission_versions")] == [1]
    [row] = await fetch(resources, "select answers->>'hh_name' as name from submission_versions")
    assert row["name"] == "Nguyễn Văn A"
    assert spool_is_empty(resources)


async def test_edit_keeps_the_old_version_and_carries_files(resources: Resources, project: int) -> None:
    original = new_instance_id()
    first = await ingest(
        resources,
        project,
        submission_xml(instance_id=original),
        [(FRONT, jpeg_bytes(seed=7)), (ROOF, jpeg_bytes(seed=8))],
    )
    edited_id = new_instance_id()
    new_roof = jpeg_bytes(seed=9)
    edit_xml = submission_xml(instance_id=edited_id, deprecated_id=original, size=5)
    edited = await ingest(resources, project, edit_xml, [(ROOF, new_roof)])
    assert (edited.outcome, edited.submission_id, edited.present) == ("edited", first.submission_id, 2)
    versions = await fetch(
        resources,
        "select instance_id, deprecated_id, is_current, answers->'hh_size' as size "
        "from submission_versions order by id",
    )
    assert [(v["instance_id"], v["deprecated_id"], v["is_current"], v["size"]) for v in versions] == [
        (original, None, False, 4),
        (edited_id, original, True, 5),
    ]
    [submission] = await fetch(resources, "select instance_id, review_state, updated_at from submissions")
    assert submission["instance_id"] == original
    assert submission["review_state"] == "edited"
    # The retry of the edit is an attachment upsert, not a second edit.
    again = await ingest(resources, project, edit_xml, [(ROOF, new_roof)])
    assert again.outcome == "duplicate"
    with pytest.raises(Problem) as stale:
        await ingest(resources, project, submission_xml(deprecated_id=original), [])
    assert stale.value.code == 409.9
    with pytest.raises(Problem) as unknown:
        await ingest(resources, project, submission_xml(deprecated_id=new_instance_id()), [])
    assert unknown.value.code == 404.5


async def test_unreferenced_files_are_ignored(resources: Resources, project: int) -> None:
    result = await ingest(
        resources,
        project,
        submission_xml(photos=(FRONT, None)),
        [(FRONT, jpeg_bytes(seed=10)), ("extra.jpg", jpeg_bytes(seed=11)), ("audit.csv", b"event,node\n")],
    )
    assert (result.expected, result.present) == (1, 1)
    assert [r["count"] for r in await fetch(resources, "select count(*) from blobs")] == [1 + 1]  # photo + form xlsx
    assert spool_is_empty(resources)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"<html><script>alert(1)</script></html>", "looks like"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 100, "not a readable image"),
    ],
    ids=["html", "truncated-jpeg"],
)
async def test_a_non_image_posing_as_a_photo_is_refused(
    resources: Resources, project: int, content: bytes, reason: str
) -> None:
    with pytest.raises(Problem) as refused:
        await ingest(resources, project, submission_xml(), [(FRONT, content), (ROOF, jpeg_bytes(seed=12))])
    assert refused.value.code == 400.31
    assert reason in refused.value.message
    assert await fetch(resources, "select id from submissions") == []
    assert spool_is_empty(resources)


async def test_decompression_bomb_is_refused_without_decoding(resources: Resources, project: int) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(Problem) as refused:
        await ingest(resources, project, submission_xml(photos=(FRONT, None)), [(FRONT, bomb)])
    assert "too many pixels" in refused.value.message


async def test_concurrent_duplicates_make_exactly_one_submission(resources: Resources, project: int) -> None:
    xml = submission_xml()
    photo = jpeg_bytes(seed=13)
    results = await asyncio.gather(*(ingest(resources, project, xml, [(FRONT, photo)]) for _ in range(6)))
    assert sorted(r.outcome for r in results) == ["created"] + ["duplicate"] * 5
    assert len({r.submission_id for r in results}) == 1
    assert [r["count"] for r in await fetch(resources, "select count(*) from submissions")] == [1]


@pytest.mark.parametrize(
    ("xml", "code"),
    [
        (submission_xml(form_id="nope"), 404.1),
        (submission_xml(version="99"), 404.6),
        (b"<data id='household' version='1'><unclosed></data>", 400.1),
        (b"<data id='household' version='1'><meta></meta></data>", 400.1),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            b"<data id='household' version='1'><hh_name>&b;</hh_name></data>",
            400.1,
        ),
    ],
    ids=["unknown-form", "unknown-version", "malformed", "no-instance-id", "doctype-entities"],
)
async def test_unusable_submissions_are_refused(resources: Resources, project: int, xml: bytes, code: float) -> None:
    with pytest.raises(Problem) as refused:
        await ingest(resources, project, xml, [(FRONT, jpeg_bytes(seed=14))])
    assert refused.value.code == code
    assert spool_is_empty(resources)


async def test_closed_forms_refuse_and_closing_forms_accept(resources: Resources, project: int) -> None:
    await forms.set_form_state(resources, await access_to(resources, SYSTEM, project), "household", "closing")
    assert (await ingest(resources, project, submission_xml(photos=()), [])).outcome == "created"
    await forms.set_form_state(resources, await access_to(resources, SYSTEM, project), "household", "closed")
    with pytest.raises(Problem) as closed:
        await ingest(resources, project, submission_xml(photos=()), [])
    assert closed.value.code == 409.2


async def test_traversal_names_in_the_xml_are_refused(resources: Resources, project: int) -> None:
    with pytest.raises(Problem) as refused:
        await ingest(resources, project, submission_xml(photos=("../../etc/passwd", None)), [])
    assert refused.value.code == 400.30


async def test_encrypted_submissions_are_stored_as_received(resources: Resources, project: int) -> None:
    public_key = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvFakeKeyForTests"
    survey = [["type", "name", "label"], ["text", "secret", "Secret"]]
    body = xlsx(survey, settings=[["form_id", "version", "public_key"], ["sealed", "1", public_key]])
    await forms.create_form(
        resources,
        await access_to(resources, SYSTEM, project),
        body,
        content_type=XLSX,
        fallback_form_id=None,
        publish=True,
        ignore_warnings=True,
    )
    instance = new_instance_id()
    envelope = (
        f'<data xmlns="http://www.opendatakit.org/xforms/encrypted" id="sealed" version="1" encrypted="yes">'
        f"<base64EncryptedKey>a2V5</base64EncryptedKey>"
        f'<orx:meta xmlns:orx="http://openrosa.org/xforms"><orx:instanceID>{instance}</orx:instanceID></orx:meta>'
        f"<media><file>1.jpg.enc</file></media><encryptedXmlFile>submission.xml.enc</encryptedXmlFile>"
        f"<base64EncryptedElementSignature>c2ln</base64EncryptedElementSignature></data>"
    ).encode()
    result = await ingest(
        resources, project, envelope, [("submission.xml.enc", b"\x01\x02opaque"), ("1.jpg.enc", b"\x03opaque")]
    )
    assert (result.outcome, result.expected, result.present) == ("created", 2, 2)
    [row] = await fetch(
        resources,
        "select s.encrypted, v.answers from submissions s join submission_versions v on v.id = s.current_version_id",
    )
    assert row == {"encrypted": True, "answers": None}
    with pytest.raises(Problem):
        await ingest(resources, project, submission_xml(form_id="sealed"), [])


async def test_every_change_is_recorded_in_its_own_transaction(resources: Resources, project: int) -> None:
    """created → files (split upload) → edited; a retry that changes nothing and a refused resend record nothing."""
    instance = new_instance_id()
    xml = submission_xml(instance_id=instance)
    await ingest(resources, project, xml, [(FRONT, jpeg_bytes(seed=40))])
    await ingest(resources, project, xml, [(ROOF, jpeg_bytes(seed=41))])
    await ingest(resources, project, xml, [(ROOF, jpeg_bytes(seed=41))])  # a retry: nothing new
    with pytest.raises(Problem):
        await ingest(resources, project, submission_xml(instance_id=instance, head="Other"), [])
    await ingest(resources, project, submission_xml(deprecated_id=instance, size=6), [])
    changes = await fetch(
        resources,
        """select c.kind, c.details, c.txid::text::bigint as txid, s.updated_at, c.changed_at
           from submission_changes c join submissions s on s.id = c.submission_id order by c.id""",
    )
    assert [c["kind"] for c in changes] == ["created", "files", "edited"]
    assert changes[1]["details"] == {"present": 2, "expected": 2}
    assert len({c["txid"] for c in changes}) == 3
    # updated_at follows the latest change.
    assert changes[-1]["updated_at"] == max(c["changed_at"] for c in changes)


async def test_a_heic_header_over_html_is_not_house_evidence(resources: Resources, project: int) -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 10)).save(buffer, format="HEIF")
    real = buffer.getvalue()
    fake = real[:32] + b"<html>not a house</html>" * 40
    with pytest.raises(Problem) as refused:
        await ingest(resources, project, submission_xml(photos=("front.heic", None)), [("front.heic", fake)])
    assert refused.value.code == 400.31
    stored = await ingest(resources, project, submission_xml(photos=("front.heic", None)), [("front.heic", real)])
    assert (stored.expected, stored.present) == (1, 1)


@pytest.mark.parametrize("instance_id", ["uuid:a/b", "uuid:a\\b", "uuid:a\tb"])
async def test_an_instance_id_that_cannot_name_a_url_is_refused(
    resources: Resources, project: int, instance_id: str
) -> None:
    xml = submission_xml(instance_id="X").replace(b">X<", f">{instance_id}<".encode())
    with pytest.raises(Problem) as refused:
        await ingest(resources, project, xml, [])
    assert refused.value.code == 400.1
    assert "instanceID" in refused.value.message
