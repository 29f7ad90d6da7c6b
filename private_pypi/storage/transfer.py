"""boto3's transfer manager, for the files that go up in parts: imported only for those,
since boto3 and s3transfer take longer to import than the rest of a publish needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from s3transfer.subscribers import BaseSubscriber

from .base import MULTIPART_THRESHOLD, Progress

if TYPE_CHECKING:
    from s3transfer.manager import TransferManager
    from types_boto3_s3 import S3Client


def transfer_manager(client: S3Client, concurrency: int) -> TransferManager:
    config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, max_concurrency=concurrency)
    return create_transfer_manager(client, config)


class ProgressSubscriber(BaseSubscriber):
    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        self._progress(bytes_transferred)
