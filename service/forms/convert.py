"""XLSForm → XForm conversion with pyxform, and ODK Validate, isolated in child processes.

Why a process per conversion: pyxform is pure-Python CPU work (50 ms to seconds, holding the GIL) that parses
untrusted zip/XML, and Validate is a JVM. A fresh child process gets an address-space limit and a wall-clock
deadline after which it is killed — a hostile workbook can burn at most one child, never the server. Uploads
are rare, so isolation is worth more than warm workers: a spawned child costs ~0.3 s of imports per upload,
whereas a forkserver or pool with pyxform preloaded would keep ~45 MB resident in every app process forever.

Errors come back as `FormProblem`s naming the sheet, row and column where a form author should look.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import multiprocessing
import re
import shutil
import subprocess
import tempfile
import unicodedata
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import msgspec

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["ConversionFailed", "ConvertedForm", "FileType", "FormConverter", "FormProblem"]

FileType = Literal[".xlsx", ".xls"]

# Zip-bomb guards for .xlsx (checked from the central directory before any parsing).
_MAX_UNZIPPED_BYTES = 64 * 1024 * 1024
_MAX_ZIP_ENTRIES = 500
_MAX_RATIO = 200
_MAX_SURVEY_ROWS = 10_000
_MAX_CELLS = 500_000

_ROW = re.compile(r"\[row\s*:\s*(\d+)\]\s*")
_SHEET = re.compile(r"'(survey|choices|settings|external_choices|entities|osm)' sheet", re.IGNORECASE)
_COLUMN = re.compile(r"the '([^']+)' value is invalid")
_QUOTED = re.compile(r"'([^']+)'")
_REFERENCE = re.compile(r"\$\{([^}]+)\}")
_VALID_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_SPREADSHEET_SUFFIX = re.compile(r"\.(xlsx|xlsm|xls)$", re.IGNORECASE)


class FormProblem(msgspec.Struct, frozen=True, omit_defaults=True):
    severity: Literal["error", "warning"]
    source: Literal["pyxform", "validate", "server"]
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None


class ConvertedForm(msgspec.Struct, frozen=True):
    xml: str
    itemsets_csv: str | None
    warnings: list[FormProblem]
    xml_form_id: str
    version: str
    title: str


class ConversionFailed(Exception):
    def __init__(self, problems: list[FormProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class _Job(msgspec.Struct, frozen=True):
    data: bytes
    file_type: str
    fallback_form_id: str | None
    java: str | None
    memory_mb: int
    validate_timeout_s: float


class _Outcome(msgspec.Struct, frozen=True):
    form: ConvertedForm | None = None
    problems: list[FormProblem] = []


_encode = msgspec.msgpack.Encoder().encode
_decode_outcome = msgspec.msgpack.Decoder(_Outcome).decode


def _server_problem(message: str, sheet: str | None = None) -> FormProblem:
    return FormProblem(severity="error", source="server", message=message, sheet=sheet)


class FormConverter:
    def __init__(
        self,
        *,
        timeout_s: float = 30.0,
        memory_mb: int = 1024,
        concurrency: int = 2,
        validate: Literal["auto", "on", "off"] = "auto",
        java_path: str | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._semaphore = asyncio.Semaphore(concurrency)
        self._java = None if validate == "off" else (java_path or shutil.which("java"))
        if validate == "on" and self._java is None:
            raise RuntimeError("FORM_VALIDATE=on but no java executable was found")
        self._context = multiprocessing.get_context("spawn")
        self._children: set[multiprocessing.process.BaseProcess] = set()

    @property
    def validation_enabled(self) -> bool:
        return self._java is not None

    async def convert(self, data: bytes, file_type: FileType, *, fallback_form_id: str | None = None) -> ConvertedForm:
        if file_type == ".xlsx":
            _check_zip(data)
        job = _Job(
            data=data,
            file_type=file_type,
            fallback_form_id=fallback_form_id,
            java=self._java,
            memory_mb=self.memory_mb,
            validate_timeout_s=max(1.0, self.timeout_s * 0.8),
        )
        outcome = await self._run(_convert_in_child, job)
        if outcome.form is None:
            raise ConversionFailed(outcome.problems)
        return outcome.form

    async def validate_xform(self, xml: str) -> list[FormProblem]:
        """ODK Validate on an uploaded XForm: [] when valid or when validation is off."""
        if self._java is None:
            return []
        job = _Job(
            data=xml.encode("utf-8"),
            file_type=".xml",
            fallback_form_id=None,
            java=self._java,
            memory_mb=self.memory_mb,
            validate_timeout_s=max(1.0, self.timeout_s * 0.8),
        )
        outcome = await self._run(_validate_in_child, job)
        return outcome.problems

    async def _run(self, target: Any, job: _Job) -> _Outcome:
        async with self._semaphore:
            return await asyncio.to_thread(self._run_child, target, job)

    def _run_child(self, target: Any, job: _Job) -> _Outcome:
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(target=target, args=(sender, _encode(job)), daemon=True)
        process.start()
        self._children.add(process)
        sender.close()
        try:
            if not receiver.poll(self.timeout_s):
                return _Outcome(problems=[_server_problem(_TIMEOUT)])
            return _decode_outcome(receiver.recv_bytes())
        except (EOFError, OSError, msgspec.DecodeError):
            # The child died without answering: out of memory (RLIMIT_AS) or a crash inside a parser.
            return _Outcome(problems=[_server_problem(_CRASHED)])
        finally:
            receiver.close()
            if process.is_alive():
                process.kill()
            process.join(5)
            self._children.discard(process)

    def close(self) -> None:
        for process in list(self._children):
            with contextlib.suppress(Exception):
                process.kill()


_TIMEOUT = "The form took too long to convert or validate and was refused; is it unusually large?"
_CRASHED = "The form could not be converted within the server's limits (memory or time)."


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ConversionFailed(
            [_server_problem("The file is not a valid .xlsx workbook (it is not a zip archive).")]
        ) from None
    total = sum(entry.file_size for entry in entries)
    compressed = sum(entry.compress_size for entry in entries) or 1
    if len(entries) > _MAX_ZIP_ENTRIES or total > _MAX_UNZIPPED_BYTES or total / compressed > _MAX_RATIO:
        raise ConversionFailed(
            [_server_problem("The workbook unpacks to far more data than a form needs and was refused.")]
        )


# Everything below runs in the child process.


def _limit_memory(memory_mb: int) -> None:
    import resource

    # Only the soft limit: the JVM that runs ODK Validate reserves gigabytes of address space, so it is
    # started with the soft limit lifted again (see _unlimited).
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _unlimited() -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def _convert_in_child(sender: Connection, payload: bytes) -> None:
    job = msgspec.msgpack.decode(payload, type=_Job)
    try:
        _limit_memory(job.memory_mb)
        outcome = _convert(job)
    except MemoryError:
        outcome = _Outcome(problems=[_server_problem(_CRASHED)])
    sender.send_bytes(_encode(outcome))
    sender.close()


def _validate_in_child(sender: Connection, payload: bytes) -> None:
    job = msgspec.msgpack.decode(payload, type=_Job)
    problems = _validate(job.data.decode("utf-8"), job.java, job.validate_timeout_s, survey=None)
    sender.send_bytes(_encode(_Outcome(problems=problems)))
    sender.close()


def _convert(job: _Job) -> _Outcome:
    from pyxform.errors import PyXFormError
    from pyxform.xls2json_backends import DefinitionData, get_xlsform
    from pyxform.xls2xform import convert

    try:
        workbook = get_xlsform(job.data, file_type=job.file_type)
    except PyXFormError as exc:
        return _Outcome(problems=[_pyxform_problem(str(exc), getattr(exc, "context", None), None)])
    except Exception as exc:  # noqa: BLE001 - any reader failure on untrusted bytes is "not a workbook"
        return _Outcome(problems=[_server_problem(f"The file could not be read as a workbook: {exc}")])
    survey = list(workbook.survey or [])
    size_problem = _check_size(workbook)
    if size_problem is not None:
        return _Outcome(problems=[size_problem])
    settings = dict((workbook.settings or [{}])[0]) if workbook.settings else {}
    warnings: list[FormProblem] = []
    form_id = (settings.get("form_id") or settings.get("id_string") or "").strip()
    if not form_id:
        if not job.fallback_form_id:
            return _Outcome(
                problems=[
                    _server_problem(
                        "The settings sheet has no form_id. Add a form_id column to the settings sheet.",
                        sheet="settings",
                    )
                ]
            )
        form_id = _slug(job.fallback_form_id)
        warnings.append(_warning(f"The settings sheet has no form_id; the form id {form_id} was used."))
    version = str(settings.get("version") or "").strip()
    if not version:
        version = hashlib.sha256(job.data).hexdigest()[:10]
        warnings.append(_warning(f"The settings sheet has no version; it was given the version {version}."))
    settings.update(form_id=form_id, version=version)
    definition = {name: getattr(workbook, name) for name in DefinitionData.__slots__}
    definition["settings"] = [settings]
    # pyxform checks the settings rows against the sheet's header row; the filled-in columns join it.
    definition["settings_header"] = [dict.fromkeys(settings)]
    definition["fallback_form_name"] = form_id
    pyxform_warnings: list[str] = []
    try:
        result = convert(definition, warnings=pyxform_warnings)
    except PyXFormError as exc:
        return _Outcome(problems=[_pyxform_problem(str(exc), getattr(exc, "context", None), survey)])
    except Exception as exc:  # noqa: BLE001 - pyxform raises assorted errors on malformed sheets
        return _Outcome(problems=[_server_problem(f"The form could not be converted: {exc}")])
    warnings.extend(_pyxform_problem(w, None, survey, severity="warning") for w in pyxform_warnings)
    validation = _validate(result.xform, job.java, job.validate_timeout_s, survey=survey) if job.java else []
    errors = [p for p in validation if p.severity == "error"]
    if errors:
        return _Outcome(problems=errors)
    warnings.extend(validation)
    title, read_id, read_version = _identity(result.xform)
    return _Outcome(
        form=ConvertedForm(
            xml=result.xform,
            itemsets_csv=result.itemsets,
            warnings=warnings,
            xml_form_id=read_id or form_id,
            version=read_version or version,
            title=title or form_id,
        )
    )


def _warning(message: str) -> FormProblem:
    return FormProblem(severity="warning", source="server", message=message, sheet="settings")


def _slug(name: str) -> str:
    # "Rà soát hộ nghèo.xlsx" -> "Ra_soat_ho_ngheo": accents dropped, so the id reads well in URLs too.
    base = _SPREADSHEET_SUFFIX.sub("", name.strip()).replace("đ", "d").replace("Đ", "D")
    ascii_only = "".join(c for c in unicodedata.normalize("NFKD", base) if not unicodedata.combining(c))
    slug = _VALID_NAME.sub("_", ascii_only).strip("_-") or "form"
    return slug if slug[0].isalpha() or slug[0] == "_" else f"form_{slug}"


def _check_size(workbook: Any) -> FormProblem | None:
    survey = workbook.survey or []
    if len(survey) > _MAX_SURVEY_ROWS:
        return _server_problem(f"The survey sheet has more than {_MAX_SURVEY_ROWS} rows.", sheet="survey")
    cells = 0
    for sheet in (workbook.survey, workbook.choices, workbook.external_choices, workbook.entities):
        for row in sheet or []:
            cells += len(row)
    if cells > _MAX_CELLS:
        return _server_problem(f"The workbook has more than {_MAX_CELLS} filled cells.")
    return None


def _pyxform_problem(
    text: str,
    context: dict[str, Any] | None,
    survey: list[dict[str, Any]] | None,
    *,
    severity: Literal["error", "warning"] = "error",
) -> FormProblem:
    context = context or {}
    row = context.get("row")
    match = _ROW.search(text)
    if row is None and match:
        row = int(match[1])
    message = _ROW.sub("", text, count=1).strip() if match else text.strip()
    sheet_match = _SHEET.search(text)
    sheet = context.get("sheet") or (sheet_match[1].lower() if sheet_match else None)
    column_match = _COLUMN.search(text)
    column = context.get("column") or (column_match[1] if column_match else None)
    if row is None and survey is not None:
        row = _find_row(survey, _QUOTED.findall(text))
        if row is not None:
            sheet = sheet or "survey"
    elif row is not None and sheet is None:
        sheet = "survey"
    return FormProblem(
        severity=severity,
        source="pyxform",
        message=message,
        sheet=sheet,
        row=int(row) if row is not None else None,
        column=column,
    )


def _find_row(survey: list[dict[str, Any]], candidates: list[str]) -> int | None:
    """The survey row a row-less message talks about: a quoted type or name that appears there."""
    for candidate in candidates:
        for index, row in enumerate(survey):
            if candidate in {str(row.get("type", "")).strip(), str(row.get("name", "")).strip()}:
                return index + 2  # header is row 1, as pyxform counts
    return None


def _identity(xform: str) -> tuple[str, str, str]:
    from service.forms.schema import parse_xform

    schema = parse_xform(xform.encode("utf-8"))
    return schema.title, schema.xml_form_id, schema.version


def _validate(
    xform: str, java: str | None, timeout_s: float, *, survey: list[dict[str, Any]] | None
) -> list[FormProblem]:
    if java is None:
        return []
    from pyxform.validators.error_cleaner import ErrorCleaner
    from pyxform.validators.odk_validate import ODK_VALIDATE_PATH

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "form.xml"
        path.write_text(xform, encoding="utf-8")
        try:
            completed = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [
                    java,
                    "-Djava.awt.headless=true",
                    "-Xmx256m",
                    "-XX:TieredStopAtLevel=1",
                    "-jar",
                    ODK_VALIDATE_PATH,
                    str(path),
                ],
                capture_output=True,
                timeout=timeout_s,
                check=False,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                preexec_fn=_unlimited,
            )
        except subprocess.TimeoutExpired:
            return [FormProblem(severity="error", source="validate", message=_TIMEOUT)]
        except OSError as exc:
            return [FormProblem(severity="error", source="validate", message=f"ODK Validate could not run: {exc}")]
    if completed.returncode == 0:
        return []
    stderr = completed.stderr.decode("utf-8", errors="replace")
    message = ErrorCleaner.odk_validate(stderr).strip() or "ODK Validate rejected the form."
    message = message.replace("Error in gui_vec.xml", "").strip()
    row = None
    if survey is not None:
        for reference in _REFERENCE.findall(message):
            row = _find_row(survey, [reference])
            if row is not None:
                break
    return [
        FormProblem(
            severity="error",
            source="validate",
            message=message,
            sheet="survey" if row is not None else None,
            row=row,
        )
    ]
