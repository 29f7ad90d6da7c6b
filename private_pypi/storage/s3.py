"""An S3 bucket (or any S3-compatible store) as a repository."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.utils import parse_timestamp

from .. import aws
from ..advice import Command
from ..contract import (
    ACCESS_KEY_ID_VARIABLE,
    BUCKET_VARIABLE,
    INDEX_PREFIX,
    REGION_VARIABLE,
    SECRET_ACCESS_KEY_VARIABLE,
    s3_index_url,
)
from ..errors import ConditionalConflict, FileChanged, PreconditionFailed, StorageError
from ..hashing import Expected, HashingReader
from .base import (
    MULTIPART_THRESHOLD,
    SHA256_METADATA,
    ObjectInfo,
    Progress,
    RetryPolicy,
    StoredObject,
)
from .timeline import RequestLog, TimedRequest

if TYPE_CHECKING:
    from s3transfer.manager import TransferManager
    from types_boto3_s3 import S3Client
    from types_boto3_s3.type_defs import ObjectTypeDef, PutObjectRequestTypeDef

Response = TypeVar("Response")

# Throttling (SlowDown, 503) and dropped connections are retried by botocore itself.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=10,
    read_timeout=60,
)
# Files of MULTIPART_THRESHOLD bytes and more go up in parallel parts through boto3's
# transfer manager, this many at once. boto3 and s3transfer are imported for the first such
# file: the rest of the storage needs only botocore.
MULTIPART_CONCURRENCY = 8
# Requests a publish or reindex has under way at once. Each waits tens of milliseconds
# for S3, so sixteen at once take about as long as one; S3 takes thousands a second.
PARALLEL_REQUESTS = 16
# A connection for each of those and each part of a transfer, kept for the next request
# (botocore keeps 10, and drops the others with a warning).
CONNECTIONS = Config(max_pool_connections=PARALLEL_REQUESTS + MULTIPART_CONCURRENCY)
# The back-off for a write S3 answered 409 ConditionalRequestConflict: a page's, as a rule.
CONFLICT_RETRY = RetryPolicy()
# A multipart upload whose completion met a conflicting request is started again from its
# first part: a few times at most, since each try sends the whole file.
MULTIPART_ATTEMPTS = 3

# What S3 answers a body whose checksum is not the one the request gave.
CHECKSUM_CODES = {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"}
# What S3 answers (409) a conditional write or a delete that met a conflicting request on
# the same key: the request did not take effect, and may be sent again. "409" is a 409
# with no error document to name it.
CONFLICT_CODES = {"ConditionalRequestConflict", "409"}
REDIRECT_CODES = {
    "PermanentRedirect",
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
    "301",
}


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    # None of it: boto3's standard chain, region and endpoint.
    access: aws.Access = field(default_factory=aws.Access)


class S3Storage:
    directory_keys = True
    parallel_requests = PARALLEL_REQUESTS

    def __init__(
        self,
        settings: S3Settings,
        *,
        config: Config = CLIENT_CONFIG,
        retry: RetryPolicy = CONFLICT_RETRY,
    ) -> None:
        """`config`: botocore's retries and timeouts, e.g. shorter ones in tests. `retry`:
        the back-off for a write S3 answered 409 ConditionalRequestConflict, which botocore
        does not retry."""
        self.settings = settings
        self.bucket = settings.bucket
        self.retry = retry
        self._rng = random.Random()
        self.client: S3Client = aws.s3_client(
            settings.access,
            config.merge(CONNECTIONS),
            _fast_timestamps(botocore.session.get_session()),
        )
        # Only distribution files go up in parts, and they never overwrite: the transfer
        # manager cannot pass If-None-Match on, so it is added to the completing request.
        self.client.meta.events.register(
            "before-parameter-build.s3.CompleteMultipartUpload", _create_only
        )
        self._transfers: TransferManager | None = None
        self._transfers_made = threading.Lock()

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}"

    @property
    def region(self) -> str:
        return self.client.meta.region_name or "us-east-1"

    @property
    def index_url(self) -> str:
        if self.settings.access.endpoint_url:
            return f"{self.settings.access.endpoint_url.rstrip('/')}/{self.bucket}/{INDEX_PREFIX}"
        return s3_index_url(self.bucket, self.region)

    def etag_for(self, body: bytes) -> str:
        # The ETag of an object stored by one PutObject, plain or SSE-S3 (the bucket's
        # encryption), is the MD5 of its bytes; that of a multipart upload or of SSE-KMS is
        # not, and a comparison with this one then fails, costing a read.
        return hashlib.md5(body, usedforsecurity=False).hexdigest()

    def observe_requests(self, callback: Callable[[str], None]) -> None:
        """Call `callback(operation_name)` for every storage request, e.g. to count them."""

        def observe(model: Any, **_: Any) -> None:
            callback(model.name)

        self.client.meta.events.register("before-call.s3", observe)

    def log_requests(self, log: RequestLog) -> None:
        """Record every request in `log` as it ends (each attempt, as S3 sees them), with
        when it was sent and answered: what its round trips are counted from."""
        sent = threading.local()

        def send(**_: Any) -> None:
            sent.at = time.perf_counter()

        def answered(event_name: str, **_: Any) -> None:
            operation = event_name.rsplit(".", 1)[-1]
            log.record(TimedRequest(operation, sent.at, time.perf_counter()))

        self.client.meta.events.register("before-send.s3", send)
        self.client.meta.events.register("response-received.s3", answered)

    def read(self, key: str) -> StoredObject | None:
        response = self._unless_missing(self.client.get_object, key)
        if response is None:
            return None
        try:
            body = response["Body"].read()
        except BotoCoreError as error:
            raise self._failure(error, key) from None
        return StoredObject(key, body, _etag(response))

    def head(self, key: str) -> ObjectInfo | None:
        response = self._unless_missing(self.client.head_object, key)
        if response is None:
            return None
        return ObjectInfo(
            key=key,
            size=response["ContentLength"],
            etag=_etag(response),
            last_modified=response["LastModified"],
            metadata=response.get("Metadata", {}),
        )

    def write(
        self,
        key: str,
        body: bytes,
        *,
        content_type: str,
        cache_control: str,
        if_match: str | None = None,
        create_only: bool = False,
    ) -> str:
        request: PutObjectRequestTypeDef = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
            "CacheControl": cache_control,
        }
        if if_match is not None:
            request["IfMatch"] = f'"{if_match}"'
        if create_only:
            request["IfNoneMatch"] = "*"

        def put() -> str:
            try:
                return _etag(self.client.put_object(**request))
            except ClientError as error:
                if if_match is not None and _is_missing(error):
                    # If-Match on a key deleted meanwhile is answered 404, not 412.
                    raise PreconditionFailed(
                        f"{self.location}/{key} was deleted while it was being updated"
                    ) from None
                raise self._failure(error, key) from None
            except BotoCoreError as error:
                raise self._failure(error, key) from None

        # After a 409, an If-Match write's caller reads the object again (S3's advice: fetch
        # the ETag, then retry); any other write is simply sent again.
        return put() if if_match is not None else self._until_applied(key, put)

    def upload(
        self,
        key: str,
        path: Path,
        *,
        content_type: str,
        cache_control: str,
        metadata: Mapping[str, str],
        progress: Progress | None = None,
    ) -> str | None:
        extra: dict[str, Any] = {
            "ContentType": content_type,
            "CacheControl": cache_control,
            "Metadata": dict(metadata),
        }
        expected = metadata.get(SHA256_METADATA)
        sent = 0

        def counted(chunk: int) -> None:
            nonlocal sent
            sent += chunk
            if progress:
                progress(chunk)

        def attempt() -> str:
            nonlocal sent
            if sent:  # a try that met a conflict: its bytes count for nothing
                counted(-sent)
            return self._upload_once(key, path, extra, expected, counted)

        # A 409 on a single PUT is sent again; on a multipart upload's completion, the
        # whole upload must start again (S3's advice), which costs the whole file each time.
        in_parts = path.stat().st_size >= MULTIPART_THRESHOLD
        policy = dataclasses.replace(self.retry, attempts=MULTIPART_ATTEMPTS) if in_parts else None
        try:
            return self._until_applied(key, attempt, policy=policy)
        except PreconditionFailed:
            return None

    def _upload_once(
        self,
        key: str,
        path: Path,
        extra: dict[str, Any],
        expected: str | None,
        progress: Progress,
    ) -> str:
        """Create `key` from the file in one try; PreconditionFailed if it exists."""
        try:
            with path.open("rb") as body:
                size = os.fstat(body.fileno()).st_size
                if size < MULTIPART_THRESHOLD:
                    # One request, and its answer carries the ETag. S3 computes the body's
                    # sha256 itself and refuses it (BadDigest) unless it is this one.
                    if expected:
                        extra["ChecksumSHA256"] = _base64_digest(expected)
                    response = self.client.put_object(
                        Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*", **extra
                    )
                    progress(size)
                    return _etag(response)
                self._upload_in_parts(key, body, size, extra, expected, progress)
        except (ClientError, BotoCoreError) as error:
            raise self._failure(error, key) from None
        info = self.head(key)
        if info is None:
            raise StorageError(f"{self.location}/{key} vanished straight after its upload")
        return info.etag

    def _upload_in_parts(
        self,
        key: str,
        body: BinaryIO,
        size: int,
        extra: dict[str, Any],
        expected: str | None,
        progress: Progress,
    ) -> None:
        """S3 has no whole-object SHA-256 for multipart uploads, only one per part. So the
        parts are read once, in order, from a reader that hashes them and fails the last
        read if the file is not the inspected one: the upload is then aborted, never
        completed. S3 checks each part against the SHA-256 botocore sends with it. A
        completion that fails, a 409 included, aborts the upload too (the transfer
        manager's cleanup), so a restart leaves no parts behind."""
        source = body
        if expected:
            source = io.BufferedReader(HashingReader(body, Expected(expected, size, key)))
            extra = {**extra, "ChecksumAlgorithm": "SHA256"}
        from .transfer import ProgressSubscriber, transfer_manager

        with self._transfers_made:
            if self._transfers is None:
                self._transfers = transfer_manager(self.client, MULTIPART_CONCURRENCY)
        subscribers = [ProgressSubscriber(progress)]
        self._transfers.upload(
            source, self.bucket, key, extra_args=extra, subscribers=subscribers
        ).result()

    def download(self, key: str, path: Path) -> None:
        # One streamed GetObject: the transfer manager sends a HeadObject first, which
        # doubled the requests of a reindex that reads back many small files.
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            with path.open("wb") as file:
                for chunk in body.iter_chunks(1024 * 1024):
                    file.write(chunk)
        except (ClientError, BotoCoreError) as error:
            raise self._failure(error, key) from None

    def sha256(self, key: str) -> str | None:
        info = self.head(key)
        if info is None:
            return None
        if SHA256_METADATA in info.metadata:
            return info.metadata[SHA256_METADATA]
        # Uploaded by another tool: hash the bytes themselves.
        digest = hashlib.sha256()
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            for chunk in body.iter_chunks(1024 * 1024):
                digest.update(chunk)
        except (ClientError, BotoCoreError) as error:
            raise self._failure(error, key) from None
        return digest.hexdigest()

    def delete(self, key: str) -> None:
        def delete_once() -> None:
            try:
                self.client.delete_object(Bucket=self.bucket, Key=key)
            except (ClientError, BotoCoreError) as error:
                raise self._failure(error, key) from None

        # A delete racing a conditional write on the key may be answered 409 too.
        self._until_applied(key, delete_once)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield _listed(item)
        except (ClientError, BotoCoreError) as error:
            raise self._failure(error, prefix) from None

    def _until_applied(
        self, key: str, request: Callable[[], Response], *, policy: RetryPolicy | None = None
    ) -> Response:
        """`request()`, sent again while S3 answers 409 ConditionalRequestConflict: that
        answer means it did not take effect, and botocore retries no 409. Bounded, with the
        back-off of a page write that lost a race."""
        policy = policy or self.retry
        for delay in policy.delays(self._rng):
            try:
                return request()
            except ConditionalConflict:
                time.sleep(delay)
        raise StorageError(
            f"{self.location}/{key} kept meeting conflicting requests (S3 answered 409 "
            f"ConditionalRequestConflict, {policy.attempts} attempts); nothing was lost, run "
            "the same command again"
        )

    def _unless_missing(self, operation: Callable[..., Response], key: str) -> Response | None:
        """Call a read operation on `key`; None if there is no such key."""
        try:
            return operation(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _is_missing(error):
                return None
            raise self._failure(error, key) from None
        except BotoCoreError as error:
            raise self._failure(error, key) from None

    def _failure(self, error: ClientError | BotoCoreError, key: str) -> Exception:
        """One line that says what went wrong and what to do."""
        where = f"{self.location}/{key}"
        failure = aws.failure(error)
        code, status, kind = failure.code, failure.status, failure.kind
        if code in {"PreconditionFailed", "412"} or status == 412:
            return PreconditionFailed(f"{where} changed while it was being updated")
        if code in CONFLICT_CODES:
            return ConditionalConflict(f"{where} met a conflicting request in flight")
        if code in CHECKSUM_CODES:
            return FileChanged(where)
        if kind is aws.Kind.NO_CREDENTIALS:
            return StorageError(
                f"no AWS credentials found: set {ACCESS_KEY_ID_VARIABLE} and "
                f"{SECRET_ACCESS_KEY_VARIABLE} (the GitHub secrets), or AWS_PROFILE"
            )
        if kind is aws.Kind.NETWORK:
            return StorageError(
                f"network error talking to S3 for {where}: {failure.message}; check the "
                "network and AWS_ENDPOINT_URL, then run the same command again"
            )
        if kind is aws.Kind.CLIENT:
            return StorageError(f"S3 request for {where} failed: {failure.message}")
        if kind is aws.Kind.REJECTED_CREDENTIALS:
            return StorageError(
                f"AWS rejected the credentials ({code}): the access key is wrong, deleted or "
                f"expired; set {aws.KEY_VARIABLES} to a current key (",
                Command("rotate-keys", checkout_only=True),
                " makes a new one)",
            )
        if kind is aws.Kind.ACCESS_DENIED:
            return StorageError(
                f"access denied to {where}: these credentials may not write this bucket; use the "
                "deployer's key from the stack that owns it"
            )
        if code == "NoSuchBucket":
            return StorageError(
                f"bucket {self.bucket} does not exist: check {BUCKET_VARIABLE}, or create it "
                "with `pulumi up`"
            )
        if code in REDIRECT_CODES or status == 301:
            hint = (
                f"{REGION_VARIABLE}={failure.bucket_region}"
                if failure.bucket_region
                else f"{REGION_VARIABLE} to the bucket's region"
            )
            return StorageError(
                f"bucket {self.bucket} is in another region than {self.region}: set {hint}"
            )
        if kind is aws.Kind.THROTTLED:
            return StorageError(
                f"S3 kept throttling requests for {where}; wait a minute and run it again"
            )
        return StorageError(f"S3 refused the request for {where}: {code} {failure.message}".strip())


def _is_missing(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    return code in {"NoSuchKey", "404", "NotFound"}


def _create_only(params: dict[str, Any], **_: Any) -> None:
    params.setdefault("IfNoneMatch", "*")


def _fast_timestamps(session: botocore.session.Session) -> botocore.session.Session:
    """Parse listings' ISO 8601 times natively: botocore's dateutil parser takes ~90 µs a
    key, which made parsing the listing the slowest part of reindexing a large bucket."""
    session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=_parse_timestamp
    )
    return session


def _parse_timestamp(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # HTTP dates, as in HeadObject's Last-Modified
        return parse_timestamp(value)


def _base64_digest(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def _listed(item: ObjectTypeDef) -> ObjectInfo:
    match item:
        case {"Key": key, "Size": size, "LastModified": modified}:
            return ObjectInfo(key=key, size=size, etag=_etag(item), last_modified=modified)
        case _:
            # The API model leaves them optional; S3 names them for every object it lists.
            raise StorageError(f"S3 listed an object without its key, size or date: {item}")


def _etag(response: Mapping[str, object]) -> str:
    return str(response["ETag"]).strip('"')
