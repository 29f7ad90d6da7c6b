"""CloudFront in front of moto's S3, for tests: the real viewer-request function decides.

Each request becomes a CloudFront viewer-request event and goes through the deployed
function (tests/edge_runtime.py). What the function answers (a 301, a 401) is what the
client gets. What it lets through is fetched from the bucket with signed requests, as
CloudFront does with origin access control, and S3's answer, 404 included, goes back.
The viewer's headers never reach S3: OAC signs every origin request itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3
from botocore.exceptions import ClientError

from tests.conftest import REGION
from tests.edge_runtime import EdgeFunction

FORWARDED_HEADERS = ("Content-Type", "Cache-Control", "ETag", "Last-Modified")


def viewer_request(method: str, target: str, headers: list[tuple[str, str]]) -> dict[str, Any]:
    """The event CloudFront hands a viewer-request function for this request."""
    parts = urlsplit(target)
    return {
        "version": "1.0",
        "context": {"eventType": "viewer-request", "distributionId": "EEMULATOR"},
        "viewer": {"ip": "127.0.0.1"},
        "request": {
            "method": method,
            "uri": parts.path,
            "querystring": _entries(parse_qsl(parts.query, keep_blank_values=True)),
            "headers": _entries((name.lower(), value) for name, value in headers),
            "cookies": {},
        },
    }


def _entries(pairs: Any) -> dict[str, dict[str, Any]]:
    """CloudFront's shape: the first value in `value`, all of them in `multiValue` if several."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    entries: dict[str, dict[str, Any]] = {}
    for name, values in grouped.items():
        entries[name] = {"value": values[0]}
        if len(values) > 1:
            entries[name]["multiValue"] = [{"value": value} for value in values]
    return entries


class EdgeEmulator:
    def __init__(self, function: EdgeFunction, moto_endpoint: str, bucket: str) -> None:
        self.function = function
        self.bucket = bucket
        # (path, status) of every answer, in order: what a client was told.
        self.answers: list[tuple[str, int]] = []
        self.s3 = boto3.client(
            "s3",
            endpoint_url=moto_endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                emulator.serve(self)

            def do_HEAD(self) -> None:
                emulator.serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def index_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/simple/"

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        event = viewer_request(handler.command, handler.path, list(handler.headers.items()))
        result = self.function(event)
        if "statusCode" in result:
            headers = {name: entry["value"] for name, entry in result.get("headers", {}).items()}
            self._answer(handler, result["statusCode"], headers, b"")
            return
        status, headers, body = self._origin(handler.command, result["uri"])
        self._answer(handler, status, headers, body)

    def _origin(self, method: str, uri: str) -> tuple[int, dict[str, str], bytes]:
        key = unquote(uri.removeprefix("/"))
        try:
            if method == "HEAD":
                response = self.s3.head_object(Bucket=self.bucket, Key=key)
                body = b""
            else:
                response = self.s3.get_object(Bucket=self.bucket, Key=key)
                body = response["Body"].read()
        except ClientError as error:
            return error.response["ResponseMetadata"]["HTTPStatusCode"], {}, b""
        sent = response["ResponseMetadata"]["HTTPHeaders"]
        headers = {name: sent[name.lower()] for name in FORWARDED_HEADERS if name.lower() in sent}
        return 200, headers, body

    def _answer(
        self, handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        self.answers.append((urlsplit(handler.path).path, status))
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)


@contextmanager
def edge_in_front_of(
    function: EdgeFunction, moto_endpoint: str, bucket: str
) -> Iterator[EdgeEmulator]:
    """Serve `bucket` through `function` (at `.index_url`) until the block ends."""
    emulator = EdgeEmulator(function, moto_endpoint, bucket)
    thread = threading.Thread(target=emulator.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield emulator
    finally:
        emulator.server.shutdown()
        emulator.server.server_close()
        thread.join()
