"""Runs the viewer-request function as CloudFront would: in V8, and in Node, with a KVS.

The function file is an ES module that imports `crypto` and `cloudfront`. In V8 (mini-racer,
which has no modules) the two import lines are replaced by tests/edge_standins.js, which
defines objects of the same names with the runtime's documented interface. In Node the
file runs as a real module: Node's own crypto and Buffer, and a `cloudfront` package whose
`kvs()` is the stand-in's. The code is the one components/cdn.py deploys.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from py_mini_racer import MiniRacer

from components.cdn import VIEWER_REQUEST_CODE, viewer_request_code

STANDINS = (Path(__file__).parent / "edge_standins.js").read_text(encoding="utf-8")
IMPORTS = "import crypto from 'crypto';\nimport cf from 'cloudfront';\n"
SOURCE = VIEWER_REQUEST_CODE.read_text(encoding="utf-8")


def without_imports(code: str) -> str:
    assert code.startswith(IMPORTS), "the function must begin with its two imports"
    return code.removeprefix(IMPORTS)


class EdgeFunction:
    """One deployed copy of the function in V8: public, or private with a store's entries."""

    def __init__(self, *, private: bool, store: Mapping[str, str] | None = None) -> None:
        self.code = viewer_request_code(private=private)
        self._lock = threading.Lock()  # a V8 context runs one thing at a time
        self._v8 = MiniRacer()
        self._v8.eval('"use strict";\n' + STANDINS + "\n" + without_imports(self.code))
        self.store(store or {})

    def store(self, entries: Mapping[str, str]) -> None:
        """Replace the store's keys, as `pulumi up` does through KeyvaluestoreKeysExclusive."""
        with self._lock:
            self._v8.eval(f"KVS_ENTRIES = {json.dumps(dict(entries))};")

    def eval(self, expression: str) -> Any:
        with self._lock:
            return self._v8.eval(expression)

    def __call__(self, event: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            promise = self._v8.eval(f"handler({json.dumps(event)}).then(JSON.stringify)")
            return json.loads(promise.get(timeout=5))

    def close(self) -> None:
        self._v8.close()


NODE_DRIVER = """
import { readFileSync } from 'fs';
const input = JSON.parse(readFileSync(0, 'utf8'));
globalThis.KVS_ENTRIES = input.store;
const { handler } = await import('./function.mjs');
const results = [];
for (const event of input.events) {
    results.push(await handler(event));
}
process.stdout.write(JSON.stringify(results));
"""
# Only the cloudfront module comes from the stand-ins; its entries are the driver's global.
NODE_CLOUDFRONT = """
const cf = {
    kvs() {
        return {
            async get(key) {
                const entries = globalThis.KVS_ENTRIES;
                if (!Object.prototype.hasOwnProperty.call(entries, key)) {
                    throw new Error('KeyNotFound: ' + key);
                }
                return entries[key];
            },
        };
    },
};
export default cf;
"""


def run_in_node(
    *, private: bool, store: Mapping[str, str], events: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every event through the function as a Node ES module; the results in order."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        package = root / "node_modules" / "cloudfront"
        package.mkdir(parents=True)
        (package / "package.json").write_text(
            json.dumps({"name": "cloudfront", "type": "module", "main": "index.js"})
        )
        (package / "index.js").write_text(NODE_CLOUDFRONT)
        # CloudFront finds `handler` by name; a module must export it for the driver.
        (root / "function.mjs").write_text(
            viewer_request_code(private=private) + "\nexport { handler };\n"
        )
        (root / "driver.mjs").write_text(NODE_DRIVER)
        out = subprocess.run(
            ["node", "driver.mjs"],
            cwd=root,
            input=json.dumps({"store": dict(store), "events": list(events)}),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    return json.loads(out.stdout)
