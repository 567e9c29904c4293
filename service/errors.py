"""One catalogue of problems, with ODK Central's codes so pyODK and Central-aware clients read them unchanged.
Codes Central does not have are ours from .50 up in each class (409.50, …), so they never collide with a code Central
adds later.

Problem (code like 404.1; the integer part is the HTTP status)
 ├── raised by service code through the constructors below (not_found(), xml_conflict(), …); every code in
 │   the service comes from a constructor here, never written inline
 ├── or made from another exception by service/problems.py (`problem_for`): database errors (db/errors.py
 │   maps SQLSTATEs and constraint names), media store errors, the framework's own 4xx
 └── rendered per surface from that one resolver: JSON under /v1 (http.py), an OpenRosaResponse on OpenRosa
     paths (openrosa/documents.py)
"""

from __future__ import annotations

from typing import Any

__all__ = ["Problem"]


class Problem(Exception):
    """An expected failure with a Central-style code, a user-facing message and optional details."""

    def __init__(
        self,
        code: float,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return int(self.code)

    def __repr__(self) -> str:
        return f"Problem({self.code}, {self.message!r})"

    # 400 — the request itself is wrong
    @classmethod
    def unparseable(cls, what: str, reason: str = "") -> Problem:
        suffix = f": {reason}" if reason else "."
        return cls(400.1, f"Could not parse the given data as {what}{suffix}")

    @classmethod
    def not_understood(cls, detail: str, details: dict[str, Any] | None = None) -> Problem:
        return cls(400.1, f"The request could not be understood: {detail}", details)

    @classmethod
    def bad_submission_xml(cls, reason: str) -> Problem:
        """The XML part of a submission is unusable; `reason` is shown to the enumerator by Collect."""
        return cls(400.1, reason)

    @classmethod
    def upload_interrupted(cls) -> Problem:
        return cls(400.1, "The upload was interrupted before it finished; please send it again.")

    @classmethod
    def missing_parameter(cls, field: str) -> Problem:
        return cls(400.2, f"Required parameter {field} missing.", {"field": field})

    @classmethod
    def invalid_header(cls, field: str, value: str | None) -> Problem:
        got = "[nothing]" if value is None else value
        return cls(400.6, f"An expected header field ({field}) did not match the expected format (got: {got}).")

    @classmethod
    def missing_multipart_field(cls, field: str) -> Problem:
        return cls(400.7, f"Required multipart POST field {field} missing.", {"field": field})

    @classmethod
    def unexpected_value(cls, field: str, reason: str) -> Problem:
        return cls(400.8, f"Unexpected {field} value; {reason}", {"field": field})

    @classmethod
    def csv_invalid(cls, problems: list[tuple[int, str]]) -> Problem:
        """A CSV upload with wrong rows: the first problem in the message, every one (line, problem) in details."""
        line, first = problems[0]
        more = f" ({len(problems) - 1} more problems in details)" if len(problems) > 1 else ""
        return cls(
            400.8,
            f"Unexpected CSV value on line {line}: {first}{more}",
            {"field": "CSV", "line": line, "problems": [{"line": n, "problem": p} for n, p in problems]},
        )

    @classmethod
    def key_does_not_exist(cls, fields: str, values: str, table: str) -> Problem:
        return cls(400.14, f"The given {fields} {values} for {table} does not exist.", {"field": fields})

    @classmethod
    def xlsform_invalid(cls, problems: list[dict[str, Any]]) -> Problem:
        return cls(
            400.15,
            "The given form was not valid. Please see the error details for more information.",
            {"problems": problems},
        )

    @classmethod
    def form_warnings(cls, problems: list[dict[str, Any]]) -> Problem:
        return cls(
            400.16,
            "The Form is valid, but with warnings. Please check the warnings and if they are acceptable "
            "resubmit with ?ignoreWarnings=true",
            {"problems": problems},
        )

    @classmethod
    def expected_deprecation(cls) -> Problem:
        return cls(
            400.19,
            "This PUT endpoint expects a deprecatedID metadata tag pointing at the current version instanceID. "
            "I cannot find that tag in your request.",
        )

    # OData (Central's codes and messages, lib/util/problem.js)
    @classmethod
    def odata_unparseable_filter(cls, reason: str) -> Problem:
        return cls(400.18, f"The OData filter expression you provided could not be parsed: {reason}")

    @classmethod
    def odata_property_not_found(cls, prop: str) -> Problem:
        return cls(400.23, f"Could not find a property named '{prop}'", {"property": prop})

    @classmethod
    def odata_unsupported_select(cls, prop: str) -> Problem:
        return cls(
            400.24,
            f"The given OData select property '{prop}' uses features not supported by this server.",
            {"property": prop},
        )

    @classmethod
    def odata_repeat_id_not_found(cls) -> Problem:
        return cls(400.34, "Record associated with the provided $skiptoken not found.")

    @classmethod
    def odata_invalid_skiptoken(cls) -> Problem:
        return cls(400.35, "Invalid $skiptoken")

    @classmethod
    def password_too_short(cls, minimum: int) -> Problem:
        return cls(400.21, f"The password must be at least {minimum} characters long.")

    @classmethod
    def unsafe_file_name(cls, name: str) -> Problem:
        return cls(400.30, "A file name may not contain path separators or '..'.", {"name": name[:200]})

    @classmethod
    def not_an_image(cls, name: str, reason: str) -> Problem:
        return cls(400.31, f"The file {name[:200]} is not an acceptable image: {reason}", {"name": name[:200]})

    # 401/403 — who you are, what you may do
    @classmethod
    def authentication_failed(cls) -> Problem:
        return cls(401.2, "Could not authenticate with the provided credentials.")

    @classmethod
    def https_only(cls) -> Problem:
        return cls(401.3, "This authentication method is only available over HTTPS")

    @classmethod
    def authentication_required(cls) -> Problem:
        return cls(401.4, "This resource requires authentication.")

    @classmethod
    def insufficient_rights(cls) -> Problem:
        return cls(403.1, "The authentication you provided does not have rights to perform that action.")

    @classmethod
    def refused(cls, status: int, detail: str) -> Problem:
        """A 4xx the web framework decided (before our code ran), passed through with its status."""
        return cls(float(status), detail or "The request was refused.")

    # 404
    @classmethod
    def not_found(cls, what: str = "resource") -> Problem:
        return cls(404.1, f"Could not find the {what} you were looking for.")

    @classmethod
    def method_not_allowed(cls) -> Problem:
        return cls(405.1, "This method is not allowed on this resource.")

    @classmethod
    def deprecated_id_not_found(cls, deprecated_id: str) -> Problem:
        return cls(
            404.5,
            "You tried to update an existing submission, but we can't find that submission to update "
            f"({deprecated_id})",
        )

    @classmethod
    def form_version_not_found(cls, version: str) -> Problem:
        return cls(404.6, f"The form version specified in this submission '{version}' does not exist.")

    # 409 — state conflicts
    @classmethod
    def xml_conflict(cls) -> Problem:
        return cls(
            409.1,
            "A submission already exists with this ID, but with different XML. Resubmissions to attach "
            "additional multimedia must resubmit an identical xml_submission_file.",
        )

    @classmethod
    def not_accepting_submissions(cls) -> Problem:
        return cls(
            409.2,
            "This form is not currently accepting submissions. Please talk to your program staff if this "
            "is unexpected.",
        )

    @classmethod
    def already_exists(cls, fields: str, values: str) -> Problem:
        return cls(409.3, f"A resource already exists with {fields} value(s) of {values}.")

    @classmethod
    def version_conflict(cls, version: str) -> Problem:
        return cls(
            409.6,
            f"You tried to publish this form with version '{version}', but a published version of it already has "
            "that version. Please change the version and try again (?version=xyz changes it in place).",
        )

    @classmethod
    def no_published_version(cls) -> Problem:
        return cls(
            409.7,
            "Could not delete draft, because the form has not been published. Either delete the whole form, "
            "or replace the draft.",
        )

    @classmethod
    def app_user_revoked(cls) -> Problem:
        return cls(
            409.50,
            "This app user was revoked; its devices stay locked out. Create a new app user for the device instead.",
        )

    @classmethod
    def last_admin(cls) -> Problem:
        return cls(409.51, "This is the last administrator account; make someone else an administrator first.")

    @classmethod
    def stage_not_allowed(cls, households: list[dict[str, str]]) -> Problem:
        first = households[0]
        more = f" (and {len(households) - 1} more households)" if len(households) > 1 else ""
        return cls(
            409.52,
            f"This step cannot be taken now: {first['instanceId']} {first['why']}{more}.",
            {"households": households},
        )

    @classmethod
    def old_password_required(cls) -> Problem:
        return cls(400.2, "Required parameter old missing.", {"field": "old"})

    @classmethod
    def deprecating_old_submission(cls, deprecated_id: str) -> Problem:
        return cls(
            409.9,
            f"You tried to update a submission, but the copy you were editing ({deprecated_id}) is now out "
            "of date. Please get the new version that has been submitted, and make your edits again.",
        )

    @classmethod
    def submission_deleted(cls) -> Problem:
        return cls(409.18, "This submission has been deleted. You may not resubmit it.")

    @classmethod
    def too_many_attempts(cls, retry_after_s: int) -> Problem:
        return cls(
            429.1,
            "Too many failed sign-in attempts. Please wait before trying again.",
            {"retryAfter": retry_after_s},
            headers={"Retry-After": str(retry_after_s)},
        )

    # 406
    @classmethod
    def unacceptable_format(cls, allowed: list[str]) -> Problem:
        return cls(406.1, f"Requested format not acceptable; this resource allows: {','.join(allowed)}.")

    # 413, 415
    @classmethod
    def request_too_large(cls) -> Problem:
        return cls(413.1, "The request is larger than this server accepts.")

    @classmethod
    def too_large(cls, limit: int) -> Problem:
        return cls(413.1, f"The request is larger than this server accepts ({limit} bytes).", {"limit": limit})

    @classmethod
    def unsupported_media_type(cls, got: str | None, allowed: list[str]) -> Problem:
        return cls(
            415.1,
            f"Unsupported content type {got or '[nothing]'}; expected one of: {', '.join(allowed)}.",
        )

    # 5xx
    @classmethod
    def internal(cls) -> Problem:
        return cls(500.1, "An unknown internal problem has occurred. Please try again later.")

    @classmethod
    def not_implemented(cls, feature: str) -> Problem:
        """OData: a query option or feature this server does not support."""
        return cls(501.1, f"The requested feature {feature} is not supported by this server.", {"feature": feature})

    @classmethod
    def odata_unsupported_expression(cls, at: int, kind: str, text: str) -> Problem:
        return cls(
            501.4,
            f'The given OData filter expression uses features not supported by this server: {kind} at {at} ("{text}")',
        )

    @classmethod
    def odata_unsupported_field(cls, text: str, at: int | None = None) -> Problem:
        where = f" at {at}" if at is not None else ""
        return cls(
            501.5, f"The given OData filter expression references fields not supported by this server: {text}{where}"
        )

    @classmethod
    def odata_unsupported_expand(cls, text: str) -> Problem:
        return cls(
            501.6,
            f'The given OData expand expression is not supported by this server: "{text}". Currently, only '
            '"$expand=*" is supported.',
        )

    @classmethod
    def odata_select_with_expand(cls) -> Problem:
        return cls(501.11, "This server doesn't support $select query parameter with $expand.")

    @classmethod
    def unavailable(cls, what: str, retry_after_s: int = 30) -> Problem:
        return cls(
            503.1,
            f"The {what} is temporarily unavailable. Please try again later; nothing you sent was lost.",
            headers={"Retry-After": str(retry_after_s)},
        )

    @classmethod
    def busy(cls, what: str, retry_after_s: int = 5) -> Problem:
        return cls(
            503.2,
            f"The server is too busy with {what} right now. Please try again in a few seconds.",
            headers={"Retry-After": str(retry_after_s)},
        )

    @classmethod
    def insufficient_storage(cls, what: str) -> Problem:
        return cls(
            507.1,
            f"The {what} is out of space, so nothing was stored. Please try again later; an administrator has "
            "been told.",
            headers={"Retry-After": "300"},
        )
