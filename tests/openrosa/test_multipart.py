"""The streaming multipart reader, fed the way the network feeds it: arbitrary chunk boundaries."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

import pytest

from service.errors import Problem
from service.media.local import LocalStore
from service.openrosa.multipart import receive_submission
from tests.support.collect import jpeg_bytes, multipart_body

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

XML = "<data id='f'><name>Nguyễn Thị Ánh</name></data>".encode()


async def pieces(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("chunk", [1, 7, 1000, 65536, 10**7])
async def test_parts_survive_any_chunking(tmp_path: Path, chunk: int) -> None:
    store = LocalStore(tmp_path)
    photo = jpeg_bytes(seed=1)
    body, content_type = multipart_body(
        XML, [("1732460000001.jpg", photo), ("audit.csv", b"event,node\n")], incomplete=True
    )
    received = await receive_submission(
        pieces(body, chunk), content_type, store, max_xml_bytes=10_000, max_file_bytes=10**7
    )
    try:
        assert received.xml == XML
        assert received.incomplete is True
        assert set(received.files) == {"1732460000001.jpg", "audit.csv"}
        photo_part = received.files["1732460000001.jpg"]
        assert photo_part.info is not None
        assert photo_part.info.size == len(photo)
        assert photo_part.spool.path.read_bytes() == photo
        assert photo_part.declared_type == "image/jpeg"
    finally:
        received.discard()
    assert list(store.spool_dir.iterdir()) == []


async def test_vietnamese_instance_file_name_in_raw_utf8(tmp_path: Path) -> None:
    body, content_type = multipart_body(XML, [], instance_file="Rà soát hộ nghèo_2026-11-24_14-03-55.xml")
    received = await receive_submission(
        pieces(body, 100), content_type, LocalStore(tmp_path), max_xml_bytes=10_000, max_file_bytes=100
    )
    assert received.xml == XML


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda body: body.replace(b'name="1.jpg"; filename="1.jpg"', b'name="../1.jpg"; filename="../1.jpg"'), 400.30),
        (lambda body: body.replace(b'name="1.jpg"; filename="1.jpg"', b'name="a\\\\b.jpg"; filename="b.jpg"'), 400.30),
        (lambda body: body.replace(b"xml_submission_file", b"something_else"), 400.7),
        (lambda body: body[: len(body) // 2], 400.1),
    ],
    ids=["traversal", "backslash", "no-xml-part", "truncated"],
)
async def test_bad_bodies_are_refused_and_leave_nothing(tmp_path: Path, mutate: object, code: float) -> None:
    store = LocalStore(tmp_path)
    body, content_type = multipart_body(XML, [("1.jpg", jpeg_bytes(seed=2))])
    with pytest.raises(Problem) as refused:
        await receive_submission(
            pieces(mutate(body), 4096),  # type: ignore[operator]
            content_type,
            store,
            max_xml_bytes=10_000,
            max_file_bytes=10**7,
        )
    assert refused.value.code == code
    assert list(store.spool_dir.iterdir()) == []


async def test_limits(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    body, content_type = multipart_body(XML, [("1.jpg", b"x" * 5000)])
    with pytest.raises(Problem) as xml_too_big:
        await receive_submission(pieces(body, 512), content_type, store, max_xml_bytes=10, max_file_bytes=10**6)
    assert xml_too_big.value.status == 413
    from service.media.store import TooLarge

    with pytest.raises(TooLarge):
        await receive_submission(pieces(body, 512), content_type, store, max_xml_bytes=10_000, max_file_bytes=100)
    many, many_type = multipart_body(XML, [(f"{i}.jpg", b"x") for i in range(30)])
    with pytest.raises(Problem):
        await receive_submission(
            pieces(many, 512), many_type, store, max_xml_bytes=10_000, max_file_bytes=100, max_parts=10
        )
    with pytest.raises(Problem) as not_multipart:
        await receive_submission(pieces(XML, 512), "text/xml", store, max_xml_bytes=10_000, max_file_bytes=100)
    assert not_multipart.value.code == 400.7
    assert list(store.spool_dir.iterdir()) == []


async def test_a_file_part_without_a_filename_is_still_a_file(tmp_path: Path) -> None:
    """Some clients send `Content-Disposition: form-data; name="x.jpg"` with no filename: the part name names it."""
    store = LocalStore(tmp_path)
    photo = jpeg_bytes(seed=9)
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="xml_submission_file"\r\n\r\n'.encode()
        + XML
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="1732460000009.jpg"\r\n'.encode()
        + b"Content-Type: image/jpeg\r\n\r\n"
        + photo
        + f"\r\n--{boundary}--\r\n".encode()
    )
    received = await receive_submission(
        pieces(body, 4096),
        f"multipart/form-data; boundary={boundary}",
        store,
        max_xml_bytes=10_000,
        max_file_bytes=10**7,
    )
    try:
        assert set(received.files) == {"1732460000009.jpg"}
        assert received.files["1732460000009.jpg"].spool.path.read_bytes() == photo
    finally:
        received.discard()


async def test_part_names_are_compared_in_nfc(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    decomposed = unicodedata.normalize("NFD", "ảnh nhà.jpg")
    body, content_type = multipart_body(XML, [(decomposed, jpeg_bytes(seed=10))])
    received = await receive_submission(
        pieces(body, 4096), content_type, store, max_xml_bytes=10_000, max_file_bytes=10**7
    )
    try:
        assert set(received.files) == {unicodedata.normalize("NFC", "ảnh nhà.jpg")}
    finally:
        received.discard()
