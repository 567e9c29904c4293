"""Settings: decoded once from the environment into a frozen Struct and passed down.

Nothing reads the environment at import time. `main()` calls `Settings.from_env()` and hands the result to
`create_app(settings)`; tests build `Settings(...)` directly. Secret fields never appear in `repr()`.
"""

from __future__ import annotations

import functools
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo

import msgspec

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date

__all__ = ["Settings", "SettingsError"]

_SECRET_FIELDS = frozenset({"database_url", "s3_secret_access_key", "admin_password"})


def _decode_setting(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(kind)


Positive = msgspec.Meta(gt=0)


class SettingsError(ValueError):
    """An environment variable has a value the service cannot use; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every knob of the service. Environment names are the upper-cased field names."""

    # Database. Unset means: start the embedded PostgreSQL with its data under `data_dir`.
    database_url: str | None = None
    db_pool_min: int = 2
    db_pool_max: int = 10
    data_dir: Path = Path(".data")

    # HTTP
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # The origin Collect and browsers reach us at (scheme://host[:port]); absolute URLs are built from it.
    public_url: str | None = None

    # Media store
    media_backend: Literal["local", "s3"] = "local"
    media_root: Path = Path("media")
    s3_endpoint_url: str | None = None
    s3_bucket: str = "survey-media"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_prefix: str = ""

    # Limits
    max_form_upload_bytes: int = 10 * 1024 * 1024
    max_form_attachment_bytes: int = 50 * 1024 * 1024
    max_json_body_bytes: int = 256 * 1024
    # What Collect is told per POST (it splits bigger submissions), and the hard cap per request.
    openrosa_accept_content_length: int = 10_000_000
    max_submission_bytes: int = 100 * 1024 * 1024
    max_image_pixels: int = 60_000_000
    # Uploads are refused (507) while the disk under the media store (or under the S3 store's spool folder) would
    # keep less than this free after taking them, so the disk never fills completely (PostgreSQL may share it), and
    # /readyz reports not ready below it.
    media_min_free_bytes: int = 512 * 1024 * 1024

    # Hostile or broken clients (service/guard.py); each holds before the app sees the request.
    # Request line + headers, in bytes. Collect sends under 1 KB and a browser a few KB; nginx allows 4 * 8 KB
    # lines, Node 16 KB in all. 32 KB stays well clear of real clients and bounds what a head can pin in memory.
    max_header_bytes: Annotated[int, Positive] = 32 * 1024
    # Header lines per request. Collect sends about 8; 100 is Apache's LimitRequestFields and hyper's default.
    max_header_count: Annotated[int, Positive] = 100
    # Seconds for a whole request head to arrive, counted from the connection opening or the previous response
    # ending. A 1 KB head takes well under a second even on GPRS; 20 s leaves room for 2G retransmissions and is
    # the floor of Apache's mod_reqtimeout default (header=20-40). Slow-header (slowloris) clients are cut here.
    header_timeout_s: Annotated[float, Positive] = 20.0
    # Bodies: in every window of this many seconds, at least body_min_bytes_per_s * window bytes must arrive, and
    # a body may not stall for a whole window. 2G EDGE uploads at 30-100 kbit/s (4-12 KB/s), GPRS at 20-40
    # kbit/s: 1 KB/s (8 kbit/s) is several times below the slowest phone, and a 30 s window lets a phone ride
    # out a 20 s stall (a handover, a lift) at EDGE speed. A client trickling below it is holding a connection.
    body_window_s: Annotated[float, Positive] = 30.0
    body_min_bytes_per_s: Annotated[int, msgspec.Meta(ge=0)] = 1024
    # Open connections per worker; past it a request gets 503 (uvicorn's limit_concurrency). A connection costs
    # a few tens of KB and one or two file descriptors (socket, spool file); 1000 per worker is far above what
    # 2 cores serve (about 200 submissions/s) yet bounded, and stays inside the descriptor limit we ask for.
    max_connections: Annotated[int, Positive] = 1000

    # XLSForm conversion (runs in child processes)
    form_convert_timeout_s: float = 30.0
    form_convert_memory_mb: int = 1024
    form_convert_concurrency: int = 2
    form_validate: Literal["auto", "on", "off"] = "auto"
    java_path: str | None = None

    # Accounts
    admin_email: str | None = None
    admin_password: str | None = None
    session_ttl_s: int = 24 * 3600
    # argon2id cost: OWASP's recommendation (46 MiB, 1 pass, 1 lane) costs about 50 CPU-ms per sign-in here. One lane
    # keeps a hash on one core; RFC 9106's 4 lanes would let a sign-in flood take both cores from intake.
    argon2_time_cost: int = 1
    argon2_memory_kib: int = 46 * 1024
    argon2_parallelism: int = 1
    # At most this many password hashes run at once per worker process; when more wait than the queue allows, the
    # next sign-in is told to retry (503) instead of queueing behind a flood.
    password_hash_concurrency: int = 1
    password_hash_queue: int = 16
    # Failed sign-ins (password sessions and Basic) are counted per client address, per account from that address,
    # and per account from anywhere; past a limit within the window, sign-in answers 429 without hashing anything.
    # Per address is generous because a commune office may share one address; per account-and-address is what
    # stops guessing one password; per account (from anywhere) bounds a distributed guess without letting one
    # address lock a colleague out.
    sign_in_window_s: int = 15 * 60
    sign_in_failures_per_address: int = 30
    sign_in_failures_per_account_address: int = 5
    sign_in_failures_per_account: int = 50
    # Basic auth sends the password on every request; allow it over plain HTTP only when told to.
    allow_basic_over_http: bool = False
    # Addresses (or CIDR networks, comma-separated) of reverse proxies whose X-Forwarded-For/-Proto we believe.
    # Empty: nobody's, so a client cannot claim HTTPS or another address by sending those headers itself.
    trusted_proxies: str = ""

    # The province this server serves: the root of its areas (districts, communes and villages load under it).
    province_code: str = "46"
    province_name: str = "Tỉnh Thừa Thiên Huế"
    province_name_en: str = "Thua Thien Hue Province"

    # The offices' time zone (an IANA name): the review pages show times and read date filters in it, and the
    # review stages, exit plans and progress take their calendar dates from it (local_zone, local_today).
    review_time_zone: str = "Asia/Ho_Chi_Minh"
    # Background jobs (service/jobs): `survey worker` processes; `serve` starts `serve_workers` of them beside the web
    # workers. Each runs `worker_concurrency` jobs at once, at `worker_nice` and, with `worker_idle` (Linux), in the
    # SCHED_IDLE class: photo work is CPU, and intake comes first (docs/performance.md, "Photo evidence").
    serve_workers: int = 1
    worker_concurrency: int = 1
    worker_nice: int = 19
    worker_idle: bool = True
    worker_poll_s: float = 1.0
    # A job not renewed for this long (its worker died) is taken again; an attempt is counted at each claim.
    job_lease_s: float = 60.0
    job_max_attempts: int = 5
    # Retry after job_backoff_s x 4^(attempt - 1), at most job_backoff_max_s.
    job_backoff_s: float = 10.0
    job_backoff_max_s: float = 3600.0
    jobs_keep_s: int = 7 * 24 * 3600
    housekeeping_interval_s: int = 3600
    # Store objects no blob row references are deleted once older than this (an upload in flight has put its file
    # but not yet written its row; none takes a day).
    media_orphan_grace_s: int = 24 * 3600

    # Photo evidence (service/evidence). EXIF times without an offset are read in this zone.
    evidence_time_zone: str = "Asia/Ho_Chi_Minh"
    evidence_max_photo_bytes: int = 64 * 1024 * 1024
    # Photo GPS against the household point: tolerance = base + 2 x √(household accuracy² + photo accuracy²), with
    # the photo's GPSHPositioningError or, without one, evidence_photo_accuracy_m; "risk" beyond evidence_gps_far_m
    # (and beyond 3 x the tolerance).
    evidence_gps_tolerance_m: float = 30.0
    evidence_photo_accuracy_m: float = 20.0
    evidence_gps_far_m: float = 500.0
    # The household point: worse accuracy than this is flagged (the example form asks for 30 m or better).
    evidence_max_accuracy_m: float = 30.0
    # min_lat,min_lon,max_lat,max_lon of the province (Thừa Thiên Huế, with a margin of about 5 km).
    evidence_province_bbox: str = "15.95,106.95,16.85,108.30"
    # A point farther than max(evidence_commune_outlier_m, factor x the median distance of the others) from the
    # median point of its commune's other households, once the commune has this many.
    evidence_commune_min_households: int = 5
    evidence_commune_outlier_m: float = 2000.0
    evidence_commune_outlier_factor: float = 5.0
    # Optional: a GeoJSON FeatureCollection of commune polygons; the commune code is in this feature property.
    evidence_commune_boundaries: str | None = None
    evidence_commune_code_property: str = "code"
    # Photo time against the form's start/end: tolerated this much outside; "risk" this many days before.
    evidence_visit_slack_s: int = 3600
    evidence_photo_days_risk: float = 2.0
    # A photo time later than the receipt by more than this: the camera clock runs ahead, or the file was edited.
    evidence_clock_skew_s: int = 600
    # Two photos are near-identical within this many differing bits of their 64-bit dHash.
    evidence_phash_max_distance: int = 6
    # Risk score (0 to 100): per distinct check code, the weight of its most severe instance, summed and capped.
    # risk_weights overrides by code: "photo.reused_exact=60,gps.accuracy_zero=40".
    risk_weight_info: int = 0
    risk_weight_warn: int = 10
    risk_weight_risk: int = 35
    risk_weights: str = ""

    # Start-up
    load_example_form: bool = True
    log_level: str = "INFO"
    # auto: a readable line format when stderr is a terminal, JSON lines otherwise (files, journald, collectors).
    log_format: Literal["auto", "json", "text"] = "auto"

    def __post_init__(self) -> None:
        from service.forwarded import parse_networks

        parse_networks(self.trusted_proxies)  # raises ValueError naming the bad entry
        from service.evidence.config import validate_evidence_settings

        validate_evidence_settings(self)  # raises ValueError naming the setting

    def __repr__(self) -> str:
        shown = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if name in _SECRET_FIELDS and value is not None:
                value = "**********"
            shown.append(f"{name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @property
    def origin(self) -> str:
        """Public origin without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw: dict[str, str] = {}
        for name in cls.__struct_fields__:
            value = env.get(name.upper())
            if value is not None and value != "":
                raw[name] = value
        try:
            return msgspec.convert(raw, cls, strict=False, dec_hook=_decode_setting)
        except msgspec.ValidationError as exc:
            # msgspec names the field as `$.field`; report the environment variable instead.
            message = str(exc)
            for name in raw:
                message = message.replace(f"`$.{name}`", name.upper())
            raise SettingsError(f"invalid setting: {message}") from None

    def local_zone(self) -> ZoneInfo:
        return _zone(self.review_time_zone)

    def local_today(self) -> date:
        """Today's date in the offices' time zone (what meeting, posting, decision and visit dates are checked
        against)."""
        return datetime.now(self.local_zone()).date()

    def with_changes(self, **changes: object) -> Settings:
        return msgspec.structs.replace(self, **changes)


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
