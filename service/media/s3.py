"""S3-compatible media store through boto3. Every SDK call runs in a worker thread, never on the event loop.

Uploads are spooled to local disk first (hashing as bytes arrive), because the object key is the content hash
and is known only at the end; then the finished file is uploaded under that key (boto3 switches to multipart
uploads for big files on its own). Object keys never contain user-supplied names.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .local import STALE_SPOOL_S
from .store import (
    BLOB_KEY,
    SpoolFile,
    StoredObject,
    StoreUnavailable,
    blob_key,
    disk_free_bytes,
    remove_spool_leftovers,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

    from .store import BlobInfo

__all__ = ["S3Store"]

log = logging.getLogger(__name__)

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
# Answers that say "this store cannot serve anyone right now", not "this request is wrong": overload, outage, and
# a deployment that lost its bucket or its credentials. Callers answer 503 and /readyz reports not ready.
_UNAVAILABLE = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "NoSuchBucket"})
# Big files go up in 8 MB parts, two at a time: memory per upload stays near 16 MB whatever the file size
# (boto3's default of 10 parallel parts would hold 80 MB per upload).
_TRANSFER = TransferConfig(multipart_threshold=16 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=2)


class S3Store:
    def __init__(
        self,
        *,
        bucket: str,
        spool_dir: Path,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.spool_dir = spool_dir.resolve()
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        remove_spool_leftovers(self.spool_dir, older_than_s=STALE_SPOOL_S)
        session = boto3.session.Session()
        # S3 calls wait on the network; a pool as wide as the connection pool keeps them off asyncio's small one.
        self._io = ThreadPoolExecutor(max_workers=16, thread_name_prefix="media-s3")
        self._client: S3Client = session.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(
                connect_timeout=3,
                read_timeout=30,
                retries={"max_attempts": 2, "mode": "standard"},
                max_pool_connections=16,
                s3={"addressing_style": "path"},
            ),
        )

    def key_for(self, sha256_hex: str) -> str:
        return blob_key(sha256_hex, self.prefix)

    def spool(self, *, limit: int, want_md5: bool = False) -> SpoolFile:
        return SpoolFile(self.spool_dir, limit=limit, want_md5=want_md5)

    async def put(self, spool: SpoolFile, info: BlobInfo, content_type: str) -> str:
        key = self.key_for(info.sha256)
        try:
            await self._call(
                self._client.upload_file,
                str(spool.path),
                self.bucket,
                key,
                ExtraArgs={"ContentType": content_type},
                Config=_TRANSFER,
            )
        except S3UploadFailedError as exc:
            # upload_file wraps every ClientError (503 SlowDown, NoSuchBucket, AccessDenied) in its own exception,
            # chained only implicitly; unwrap it so an S3 outage is a StoreUnavailable here too.
            cause = exc.__cause__ or exc.__context__
            translated = _translate(cause, key) if isinstance(cause, ClientError) else None
            if translated is cause:
                raise
            # A 404 on a write can only be the bucket (or a multipart upload aborted under us): not a missing key.
            raise StoreUnavailable(f"S3 upload failed: {cause or exc}") from exc
        finally:
            spool.discard()
        return key

    async def exists(self, key: str) -> bool:
        try:
            await self._call(self._client.head_object, Bucket=self.bucket, Key=key)
        except FileNotFoundError:
            return False
        return True

    async def read(self, key: str, *, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        response = await self._call(self._client.get_object, Bucket=self.bucket, Key=key)
        body = response["Body"]
        try:
            while chunk := await self._call(body.read, chunk_size):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await self._call(self._client.delete_object, Bucket=self.bucket, Key=key)

    async def list(self) -> AsyncIterator[StoredObject]:
        # A page (up to 1,000 keys) per request, each fetched in the pool; only keys blob_key() makes are listed.
        prefix = f"{self.prefix}blobs/"
        token: str | None = None
        while True:
            arguments: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": 1000}
            if token:
                arguments["ContinuationToken"] = token
            page = await self._call(self._client.list_objects_v2, **arguments)
            for item in page.get("Contents", []):
                key = item["Key"]
                if BLOB_KEY.fullmatch(key[len(self.prefix) :]):
                    yield StoredObject(key=key, size=int(item["Size"]), modified=item["LastModified"].timestamp())
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")

    async def stat(self, key: str) -> StoredObject | None:
        try:
            head = await self._call(self._client.head_object, Bucket=self.bucket, Key=key)
        except FileNotFoundError:
            return None
        return StoredObject(key=key, size=int(head["ContentLength"]), modified=head["LastModified"].timestamp())

    async def check(self) -> None:
        try:
            await self._call(self._client.head_bucket, Bucket=self.bucket)
        except FileNotFoundError:
            raise StoreUnavailable(f"bucket {self.bucket} does not exist") from None
        except ClientError as exc:
            # Whatever else S3 refuses a HEAD of our own bucket for (a 400 from a wrong region), we are not ready.
            raise StoreUnavailable(f"S3 refused HEAD of bucket {self.bucket}: {exc}") from exc

    def free_bytes(self) -> int:
        # The bucket has no "full"; the local spool folder every upload passes through does.
        return disk_free_bytes(self.spool_dir)

    async def close(self) -> None:
        self._io.shutdown(wait=True)
        self._client.close()

    async def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            call = functools.partial(function, *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(self._io, call)
        except ClientError as exc:
            translated = _translate(exc, str(kwargs.get("Key", "")))
            if translated is exc:
                raise
            raise translated from exc
        except BotoCoreError as exc:
            # Connection refused, timeouts, DNS, a body cut short mid-download: the store is unreachable, not the
            # request wrong.
            raise StoreUnavailable(f"S3 unreachable: {exc}") from exc


def _translate(exc: ClientError, key: str) -> Exception:
    """FileNotFoundError for a missing key, StoreUnavailable when S3 cannot serve us, else the error itself."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    if code in _UNAVAILABLE or status >= 500:
        return StoreUnavailable(f"S3 answered {status} {code}")
    if status in {401, 403}:
        # Every request of this server is refused: lost or rotated credentials, a bucket policy. Not the client's
        # fault. (Without s3:ListBucket AWS also answers 403 for an absent key; our keys come from database rows, so
        # an absent one is an inconsistency either way.)
        return StoreUnavailable(f"S3 refused our credentials: {status} {code}")
    if code in _MISSING or status == 404:
        return FileNotFoundError(key)
    return exc
