"""moto over real HTTP on 127.0.0.1, with S3's atomic conditional writes and its
checksum checks; in a thread of this process, or in its own process.

S3 checks a write's If-Match / If-None-Match and stores it in one step. moto checks, then
stores, so under load two racing writers can both pass the check: eight threads making
320 compare-and-swaps on one object left 317 entries in it. That is moto's race, not the
code under test, so this server takes conditional writes one at a time, as S3 does.

S3 answers a read that races a write of the same key with one object or the other;
moto replaces an object in place and can answer a racing GET with an empty body. This
server takes the requests on one key one at a time.

S3 computes the SHA-256 of a body sent with `x-amz-checksum-sha256` and refuses it with
400 BadDigest if the two differ; moto stores the header's value unchecked. This server
checks it, as S3 does.

S3 answers a request from a runner in its region in tens of milliseconds; moto on
loopback in one or two, which hides every request that waits for another. So the server
can hold each request a while (`latency`) before moto sees it, in the request's own
thread: requests under way together are held together, as S3 holds them, and a
conditional write takes the lock that makes it atomic only after its wait.

The benchmarks run it in its own process (`python -m tests.motoserver`), so its CPU stays
off the GIL of the client being timed, and have it count requests: every request is named
by the storage operation it is (GetObject, PutObject, ListObjectsV2, dynamodb:PutItem...)
as it arrives, before moto handles it, and timed from its arrival to its answer. Beside
moto's own API the server answers:
- `GET /_motoserver/counts`: the counts so far; `?reset=1` also zeroes them, and the
  requests timed;
- `GET /_motoserver/round-trips`: the critical path of the requests timed since: the
  longest chain of them each of which arrived after the one before it was answered;
- `POST /_motoserver/latency`: hold every request from now on this many seconds (the
  body, as text);
- `GET /_motoserver/cpu`: the CPU seconds the server's process has used;
- `POST /_motoserver/load`: a pickled list of (bucket, key, body, headers) stored through
  the same backend calls as a PutObject, minus HTTP, uncounted. Over HTTP moto takes
  ~3 ms of CPU per PutObject, so 170,000 objects would take ten minutes; this takes well
  under one. It only fills repositories: nothing measured goes through it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from threading import Lock, Thread
from typing import Any
from urllib.parse import parse_qs

import boto3
from moto import backends
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from private_pypi.aws import Access
from private_pypi.storage import S3Settings, S3Storage
from private_pypi.storage.timeline import TimedRequest, round_trips

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
# The account's own credentials, as an administrator has them.
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
COUNTS_PATH = "/_motoserver/counts"
ROUND_TRIPS_PATH = "/_motoserver/round-trips"
LATENCY_PATH = "/_motoserver/latency"
CPU_PATH = "/_motoserver/cpu"
LOAD_PATH = "/_motoserver/load"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]
# (bucket, key, body, headers): plain tuples, so the server unpickles no class of ours.
ObjectToLoad = tuple[str, str, bytes, dict[str, str]]


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


class WholeObjects:
    """WSGI middleware: requests on one object go one at a time, answered whole.

    S3 answers a read that meets a write of the same key with the object before or after
    it, never part of one; moto, which replaces an object's value in place, can answer a
    GET that races a PUT with an empty body (and botocore then reports a checksum
    mismatch). The latency is waited outside (see Controls), so only moto's own work is
    serialized, and only per key."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.locks: dict[tuple[str, str], Lock] = {}
        self.guard = Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.count("/") < 2 or path.startswith("/_motoserver/"):
            return self.app(environ, start_response)  # a bucket, or the server's own
        with self.guard:
            lock = self.locks.setdefault((environ.get("HTTP_HOST", ""), path), Lock())
        with lock:
            return list(self.app(environ, start_response))


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


def operation(method: str, path: str, query: str, headers: Mapping[str, str]) -> str:
    """The AWS operation an S3 path-style or DynamoDB request performs."""
    target = headers.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("DynamoDB_"):
        return "dynamodb:" + target.split(".", 1)[1]
    parameters = parse_qs(query, keep_blank_values=True)
    has_key = "/" in path.strip("/")
    if not has_key:
        if method == "GET":
            return "ListObjectsV2" if parameters.get("list-type") == ["2"] else "ListObjects"
        if method == "POST" and "delete" in parameters:
            return "DeleteObjects"
        return f"{method} bucket"
    if method == "PUT":
        if "partNumber" in parameters:
            return "UploadPart"
        return "CopyObject" if "HTTP_X_AMZ_COPY_SOURCE" in headers else "PutObject"
    return {
        "GET": "GetObject",
        "HEAD": "HeadObject",
        "DELETE": "DeleteObject",
        "POST": "CreateMultipartUpload" if "uploads" in parameters else "MultipartUpload",
    }.get(method, method)


class Controls:
    """WSGI middleware: the server's own endpoints, the latency, and the request counter."""

    def __init__(self, app: WsgiApp, *, count_requests: bool, latency: float = 0.0) -> None:
        self.app = app
        self.count_requests = count_requests
        self.latency = latency
        self.counts: Counter[str] = Counter()
        self.timed: list[TimedRequest] = []
        self.lock = Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path, query = environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
        if path == COUNTS_PATH:
            with self.lock:
                answer: object = dict(self.counts)
                if "reset=1" in query:
                    self.counts.clear()
                    self.timed.clear()
            return _json(start_response, answer)
        if path == ROUND_TRIPS_PATH:
            with self.lock:
                timed = list(self.timed)
            return _json(start_response, round_trips(timed))
        if path == LATENCY_PATH:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            self.latency = float(environ["wsgi.input"].read(length))
            return _json(start_response, self.latency)
        if path == CPU_PATH:
            times = os.times()
            return _json(start_response, times.user + times.system)
        if path == LOAD_PATH:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            objects = pickle.loads(environ["wsgi.input"].read(length))
            _load(objects)
            return _json(start_response, len(objects))
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        arrived = time.perf_counter()
        if self.latency:
            time.sleep(self.latency)
        if not self.count_requests:
            return self.app(environ, start_response)
        name = operation(environ["REQUEST_METHOD"], path, query, environ)
        with self.lock:
            self.counts[name] += 1
        answer_body = list(self.app(environ, start_response))
        with self.lock:
            self.timed.append(TimedRequest(name, arrived, time.perf_counter()))
        return answer_body


def _json(start_response: StartResponse, answer: object) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(answer).encode()]


def _load(objects: list[ObjectToLoad]) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends
    from moto.s3.utils import metadata_from_headers

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for bucket, key, body, headers in objects:
        stored = backend.put_object(bucket, key, body)
        stored.set_metadata(metadata_from_headers(headers))


class QuietHandler(MotoRequestHandler):
    """No line per request on stderr."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def _route_without_listing() -> None:
    """moto lists its own package directory on every request to route it, which costs
    more than most operations; the list cannot change while the server runs."""
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def applicable_policy(policy: dict[str, Any]) -> str:
    """A bucket policy as moto can apply it: its statements without a Condition.

    moto takes a statement's Condition as unmet and denies what the statement covers (a
    Deny of plain HTTP would deny everything), so the conditional ones must be left out;
    tests/infra/policy_gate.py evaluates the conditional Denys in front of moto."""
    unconditional = [s for s in policy["Statement"] if "Condition" not in s]
    return json.dumps({**policy, "Statement": unconditional})


def admin_client(endpoint: str, service: str = "s3", **options: Any) -> Any:
    """A client of `service` at `endpoint`, with the account's own credentials unless
    `options` gives others (and any other boto3.client option, such as config)."""
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION, **{**CREDENTIALS, **options}
    )


def bucket_storage(endpoint: str, bucket: str) -> S3Storage:
    """The bucket as publish opens it, with the account's credentials."""
    return S3Storage(
        S3Settings(
            bucket,
            Access(
                CREDENTIALS["aws_access_key_id"],
                CREDENTIALS["aws_secret_access_key"],
                REGION,
                endpoint,
            ),
        )
    )


class MotoServer:
    """The server: `start()` and `stop()` it, or use it in a `with` block.

    `wrap` puts a WSGI middleware in front of moto (tests/infra/policy_gate.py);
    `count_requests` counts them (see `counts`) and times them (`round_trips`); `quiet`
    logs no line per request; `latency` holds each request that many seconds (see
    `set_latency`); `own_process` runs it in a process of its own, so its CPU is not this
    process's."""

    def __init__(
        self,
        *,
        wrap: Callable[[Any], Any] | None = None,
        count_requests: bool = False,
        quiet: bool = False,
        latency: float = 0.0,
        own_process: bool = False,
    ) -> None:
        if own_process and wrap is not None:
            raise ValueError("a middleware cannot be given to a server in another process")
        self._options = {"count_requests": count_requests, "quiet": quiet}
        self._latency = latency
        self._own_process = own_process
        self._process: subprocess.Popen[str] | None = None
        self._server: Any = None
        self._endpoint = ""
        if not own_process:
            self._server = _make_server(wrap=wrap, count_requests=count_requests, quiet=quiet)
            host, port = self._server.server_address[:2]
            self._endpoint = f"http://{host}:{port}"
            self._thread = Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return self._endpoint

    def start(self) -> None:
        if self._own_process:
            self._start_process()
        else:
            self._thread.start()
        if self._latency:
            self.set_latency(self._latency)

    def _start_process(self) -> None:
        flags = [f"--{name.replace('_', '-')}" for name, on in self._options.items() if on]
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.motoserver", *flags],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        if not port.isdigit():
            process.kill()
            raise RuntimeError("the moto server did not start")
        self._process, self._endpoint = process, f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
        else:
            self._server.shutdown()
            self._thread.join()

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def client(self, service: str = "s3", **options: Any) -> Any:
        return admin_client(self.endpoint, service, **options)

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def storage(self, bucket: str) -> S3Storage:
        return bucket_storage(self.endpoint, bucket)

    def environment(self) -> dict[str, str]:
        """What a tool run against the server gets: this process's environment with this
        endpoint and test credentials, and no other AWS setting."""
        clean = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        return {
            **clean,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def enforce_iam(self, enforced: bool) -> None:
        """moto checks every request's IAM policies from now on, or none: it sets moto's
        INITIAL_NO_AUTH_ACTION_COUNT (0 or infinite), global to the server's process."""
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=b"0" if enforced else b"inf",
            headers={"Content-Type": "text/plain"},
            method="POST",
        )
        with urllib.request.urlopen(request) as response:
            assert response.status == 200

    def counts(self, *, reset: bool = False) -> Counter[str]:
        """The requests counted so far, by operation (count_requests); `reset` zeroes them."""
        return Counter(self._ask(COUNTS_PATH + ("?reset=1" if reset else "")))

    def reset(self) -> None:
        self.counts(reset=True)

    def round_trips(self) -> int:
        """The critical path of the requests since the last reset (count_requests): the
        longest chain of them each of which arrived after the one before was answered."""
        return int(self._ask(ROUND_TRIPS_PATH))

    def set_latency(self, seconds: float) -> None:
        """Hold every request from now on `seconds` before moto handles it."""
        self._ask(LATENCY_PATH, str(seconds).encode())

    def cpu_seconds(self) -> float:
        return float(self._ask(CPU_PATH))

    def load(self, objects: list[ObjectToLoad]) -> None:
        self._ask(LOAD_PATH, pickle.dumps(objects))

    def _ask(self, path: str, body: bytes | None = None) -> Any:
        with urllib.request.urlopen(self.endpoint + path, data=body) as response:
            return json.load(response)


def _make_server(*, wrap: Callable[[Any], Any] | None, count_requests: bool, quiet: bool) -> Any:
    _route_without_listing()
    app: Any = ChecksumsChecked(
        AtomicConditionalWrites(WholeObjects(DomainDispatcherApplication(create_backend_app)))
    )
    if wrap is not None:
        app = wrap(app)
    app = Controls(app, count_requests=count_requests)
    handler = QuietHandler if quiet else MotoRequestHandler
    return make_server("127.0.0.1", 0, app, threaded=True, request_handler=handler)


def serve() -> None:
    """Serve until killed, after printing the port: MotoServer(own_process=True) runs it."""
    parser = argparse.ArgumentParser(prog="python -m tests.motoserver")
    parser.add_argument("--count-requests", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    options = parser.parse_args()
    server = _make_server(wrap=None, count_requests=options.count_requests, quiet=options.quiet)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve()
