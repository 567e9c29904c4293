"""Media: the content-addressed store (disk or S3), content sniffing and image checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .local import LocalStore
from .store import BlobInfo, MediaStore, SpoolFile, StoreFull, StoreUnavailable, TooLarge

if TYPE_CHECKING:
    from service.settings import Settings

__all__ = [
    "BlobInfo",
    "LocalStore",
    "MediaStore",
    "SpoolFile",
    "StoreFull",
    "StoreUnavailable",
    "TooLarge",
    "ensure_room",
    "open_store",
]


def ensure_room(store: MediaStore, settings: Settings, incoming: int) -> None:
    """Refuse an upload (507) that would leave less than MEDIA_MIN_FREE_BYTES free: checked before reading it."""
    if store.free_bytes() - incoming < settings.media_min_free_bytes:
        raise StoreFull("the media store's disk is nearly full")


def open_store(settings: Settings) -> MediaStore:
    if settings.media_backend == "s3":
        # boto3 costs ~25 MB per process; only S3 deployments pay for it.
        from .s3 import S3Store

        return S3Store(
            bucket=settings.s3_bucket,
            spool_dir=settings.media_root / ".spool",
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            prefix=settings.s3_prefix,
        )
    return LocalStore(settings.media_root)
