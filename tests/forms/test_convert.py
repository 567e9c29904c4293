"""The converter's isolation: a time limit that kills the child, a concurrency cap, refusals of junk."""

from __future__ import annotations

import asyncio
import time

import psutil  # type: ignore[import-untyped,unused-ignore]
import pytest

from service.forms.convert import ConversionFailed, FormConverter
from tests.support.xlsform import xlsx


def _children() -> set[int]:
    """Child processes, not counting the interpreter's long-lived multiprocessing resource tracker."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                found.add(child.pid)
        except psutil.Error:  # exited between listing and looking
            continue
    return found


def _big_form(questions: int) -> bytes:
    survey: list[list[str | None]] = [["type", "name", "label", "relevant"]]
    survey += [["text", f"q{i}", f"Question {i}", f"${{q{i - 1}}} != ''" if i else None] for i in range(questions)]
    return xlsx(survey, form_id="big", version="1")


async def test_a_conversion_past_its_time_limit_is_killed() -> None:
    before = _children()
    converter = FormConverter(timeout_s=0.5, validate="off")
    started = time.perf_counter()
    with pytest.raises(ConversionFailed) as failed:
        await converter.convert(_big_form(4000), ".xlsx")
    assert time.perf_counter() - started < 5
    assert "too long" in failed.value.problems[0].message
    await asyncio.sleep(0.2)
    assert _children() - before == set()


async def test_conversions_run_at_most_n_at_a_time() -> None:
    converter = FormConverter(concurrency=1, validate="off")
    body = xlsx([["type", "name", "label"], ["text", "a", "A"]], form_id="one", version="1")
    seen: list[int] = []
    before = _children()  # a session-wide child (moto's S3 server, once a test started it) is not a conversion

    async def watch() -> None:
        for _ in range(40):
            seen.append(len(_children() - before))
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    results = await asyncio.gather(*(converter.convert(body, ".xlsx") for _ in range(3)))
    await watcher
    assert [r.xml_form_id for r in results] == ["one", "one", "one"]
    assert max(seen) <= 1


@pytest.mark.parametrize(("data", "file_type"), [(b"\x00" * 300, ".xls"), (b"PK\x03\x04junk", ".xlsx")])
async def test_junk_is_refused_with_a_message(data: bytes, file_type: str) -> None:
    converter = FormConverter(validate="off")
    with pytest.raises(ConversionFailed) as failed:
        await converter.convert(data, file_type)  # type: ignore[arg-type]
    assert failed.value.problems[0].severity == "error"


async def test_fallback_ids_become_valid_xml_names() -> None:
    converter = FormConverter(validate="off")
    body = xlsx([["type", "name", "label"], ["text", "a", "A"]], form_id=None, version="1")
    converted = await converter.convert(body, ".xlsx", fallback_form_id="2023 hộ nghèo.xlsx")
    assert converted.xml_form_id == "form_2023_ho_ngheo"


async def test_a_huge_sheet_is_refused_by_size_not_by_patience() -> None:
    import io

    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    survey = workbook.create_sheet("survey")
    survey.append(["type", "name", "label"])
    for i in range(10_050):
        survey.append(["text", f"q{i}", "Q"])
    settings = workbook.create_sheet("settings")
    settings.append(["form_id", "version"])
    settings.append(["huge", "1"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(ConversionFailed) as failed:
        await FormConverter(validate="off").convert(buffer.getvalue(), ".xlsx")
    problem = failed.value.problems[0]
    assert (problem.sheet, problem.source) == ("survey", "server")
    assert "10000 rows" in problem.message
