"""A moto server in its own process that counts the requests it answers.

Both tools talk to the same server, so one counter measures them alike: every request
is named by the storage operation it is (GetObject, PutObject, ListObjectsV2,
dynamodb:PutItem…) as it arrives, before moto handles it. Running moto in another
process keeps its CPU off the GIL of the client being timed.

`python -m benchmarks.server` prints the port it listens on, then serves until killed.
`GET /_bench/counts` answers the counts so far; `?reset=1` also zeroes them.
`GET /_bench/cpu` answers the CPU seconds the server has used, to tell its share of a run.
`POST /_bench/load` pre-fills buckets: a pickled list of (bucket, key, body, headers) goes
through the same backend calls as a PutObject, minus HTTP. Over HTTP moto takes ~3 ms of
CPU per PutObject, so 170,000 objects would take ten minutes; this takes well under one.
Nothing measured goes through it: it is uncounted, and only fills repositories.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any
from urllib.parse import parse_qs

import boto3

REGION = "us-east-1"
COUNTS_PATH = "/_bench/counts"
CPU_PATH = "/_bench/cpu"
LOAD_PATH = "/_bench/load"
ROOT = Path(__file__).resolve().parent.parent

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]
# (bucket, key, body, headers): plain tuples, so the server unpickles no class of ours.
ObjectToLoad = tuple[str, str, bytes, dict[str, str]]


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


class CountingApp:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self.lock = Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path, query = environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
        if path == COUNTS_PATH:
            with self.lock:
                answer: object = dict(self.counts)
                if "reset=1" in query:
                    self.counts.clear()
            return _json(start_response, answer)
        if path == CPU_PATH:
            times = os.times()
            return _json(start_response, times.user + times.system)
        if path == LOAD_PATH:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            objects = pickle.loads(environ["wsgi.input"].read(length))
            _load(objects)
            return _json(start_response, len(objects))
        if not path.startswith("/moto-api"):
            name = operation(environ["REQUEST_METHOD"], path, query, environ)
            with self.lock:
                self.counts[name] += 1
        return self.app(environ, start_response)


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


def serve() -> None:
    from moto import backends
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    # moto lists its own package directory on every request to route it, which costs
    # more than most operations; the list cannot change while the server runs.
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules

    app = CountingApp(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    print(server.server_port, flush=True)
    server.serve_forever()


@dataclass
class MotoServer:
    """The server process, seen from the benchmark."""

    process: subprocess.Popen[str]
    endpoint: str

    @classmethod
    def start(cls) -> MotoServer:
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.server"],
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
        return cls(process, f"http://127.0.0.1:{port}")

    def counts(self, *, reset: bool = False) -> Counter[str]:
        return Counter(self._ask(COUNTS_PATH + ("?reset=1" if reset else "")))

    def environment(self) -> dict[str, str]:
        """What every tool gets: this endpoint and test credentials, no other AWS setting."""
        clean = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        return {
            **clean,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def s3(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def create_bucket(self, name: str) -> str:
        self.s3().create_bucket(Bucket=name)
        return name

    def reset(self) -> None:
        self.counts(reset=True)

    def cpu_seconds(self) -> float:
        return float(self._ask(CPU_PATH))

    def load(self, objects: list[ObjectToLoad]) -> None:
        self._ask(LOAD_PATH, pickle.dumps(objects))

    def _ask(self, path: str, body: bytes | None = None) -> Any:
        with urllib.request.urlopen(self.endpoint + path, data=body) as response:
            return json.load(response)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def __enter__(self) -> MotoServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


if __name__ == "__main__":
    serve()
