"""moto's S3 over real HTTP on 127.0.0.1, with S3's atomic conditional writes and its
checksum checks.

S3 checks a write's If-Match / If-None-Match and stores it in one step. moto checks, then
stores, so under load two racing writers can both pass the check: eight threads making
320 compare-and-swaps on one object left 317 entries in it. That is moto's race, not the
code under test, so this server takes conditional writes one at a time, as S3 does.

S3 computes the SHA-256 of a body sent with `x-amz-checksum-sha256` and refuses it with
400 BadDigest if the two differ; moto stores the header's value unchecked. This server
checks it, as S3 does.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable, Iterable
from threading import Lock, Thread
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


class AtomicConditionalWrites:
    """WSGI middleware: one conditional write at a time, checked and stored together."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        conditional = "HTTP_IF_MATCH" in environ or "HTTP_IF_NONE_MATCH" in environ
        if environ["REQUEST_METHOD"] in {"PUT", "POST"} and conditional:
            with self.lock:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


BAD_DIGEST = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>BadDigest</Code>'
    b"<Message>The SHA256 you specified did not match the calculated checksum.</Message>"
    b"</Error>"
)


class ChecksumsChecked:
    """WSGI middleware: refuse a PUT whose body is not the SHA-256 its header gives."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        claimed = environ.get("HTTP_X_AMZ_CHECKSUM_SHA256")
        chunked = "aws-chunked" in environ.get("HTTP_CONTENT_ENCODING", "")
        if environ["REQUEST_METHOD"] == "PUT" and claimed and not chunked:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            actual = base64.b64encode(hashlib.sha256(body).digest()).decode()
            if actual != claimed:
                start_response(
                    "400 Bad Request",
                    [("Content-Type", "application/xml"), ("Content-Length", str(len(BAD_DIGEST)))],
                )
                return [BAD_DIGEST]
        return self.app(environ, start_response)


class MotoServer:
    def __init__(self, wrap: Callable[[Any], Any] | None = None) -> None:
        """`wrap` puts a WSGI middleware in front of moto (tests/infra/policy_gate.py)."""
        app: Any = ChecksumsChecked(
            AtomicConditionalWrites(DomainDispatcherApplication(create_backend_app))
        )
        if wrap is not None:
            app = wrap(app)
        self._server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
