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
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .store import BlobInfo, SpoolFile, StoreUnavailable, blob_key

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from mypy_boto3_s3 import S3Client

__all__ = ["S3Store"]

log = logging.getLogger(__name__)

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
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

    async def check(self) -> None:
        try:
            await self._call(self._client.head_bucket, Bucket=self.bucket)
        except FileNotFoundError:
            raise StoreUnavailable(f"bucket {self.bucket} does not exist") from None

    async def close(self) -> None:
        self._io.shutdown(wait=True)
        self._client.close()

    async def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            call = functools.partial(function, *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(self._io, call)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in _MISSING or status == 404:
                raise FileNotFoundError(kwargs.get("Key", "")) from exc
            if status >= 500 or code in {"SlowDown", "ServiceUnavailable", "InternalError"}:
                raise StoreUnavailable(f"S3 answered {status} {code}") from exc
            raise
        except BotoCoreError as exc:
            # Connection refused, timeouts, DNS: the store is unreachable, not the request wrong.
            raise StoreUnavailable(f"S3 unreachable: {exc}") from exc
