"""A headless Chromium, driven over the DevTools protocol through a pipe.

Chromium's `--remote-debugging-pipe` reads protocol messages on its fd 3 and writes them
on its fd 4, each a JSON object ended by a NUL byte: what Puppeteer and Playwright use.
So the tests need no WebDriver, no websocket library and no port: a subprocess, two
pipes, and a thread that reads the answers. Debian's `chromium` package is the browser;
`ensure_chromium` installs it where it is missing and the test set-up may.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

# As this machine's notes say Chromium runs here: no sandbox as root, no GPU, and none of
# the background connections a closed network refuses.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
)
TIMEOUT = 30.0


class BrowserError(Exception):
    pass


def ensure_chromium() -> str | None:
    """Debian's Chromium, installed with apt-get when missing and we are root; None, with
    the reason printed by the caller, where that cannot be done."""
    found = shutil.which("chromium")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # One install at a time: pytest-xdist's workers each get here.
    with open(Path(tempfile.gettempdir(), "private-pypi-chromium.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not shutil.which("chromium"):
            for command in (
                ["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "chromium"],
            ):
                subprocess.run(
                    command, env=environment, capture_output=True, timeout=900, check=False
                )
    return shutil.which("chromium")


class Chromium:
    """One browser process; `page()` opens a tab to drive."""

    def __init__(self, executable: str) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="private-pypi-chromium-")
        to_browser, from_browser = os.pipe(), os.pipe()
        # Above 10, so that the child's dup2 onto 3 and 4 never overwrites one of them.
        ends = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (*to_browser, *from_browser)]
        for fd in (*to_browser, *from_browser):
            os.close(fd)
        browser_reads, self._writer, self._reader, browser_writes = ends

        def child() -> None:
            os.dup2(browser_reads, 3)
            os.dup2(browser_writes, 4)

        self._process = subprocess.Popen(
            [
                executable,
                *FLAGS,
                f"--user-data-dir={self._profile.name}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=child,
        )
        os.close(browser_reads)
        os.close(browser_writes)
        self._next_id = 0
        self._lock = threading.Lock()
        self._answers: dict[int, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffer = b""
        while chunk := os.read(self._reader, 1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._arrived:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self._events.append(message)
                self._arrived.notify_all()

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        with self._arrived:
            if not self._arrived.wait_for(lambda: ident in self._answers, TIMEOUT):
                raise BrowserError(f"no answer to {method} in {TIMEOUT} s")
            answer = self._answers.pop(ident)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def wait_for_event(self, method: str, session: str, since: int) -> dict[str, Any]:
        def arrived() -> dict[str, Any] | None:
            return next(
                (
                    event
                    for event in self._events[since:]
                    if event["method"] == method and event.get("sessionId") == session
                ),
                None,
            )

        with self._arrived:
            if not self._arrived.wait_for(lambda: arrived() is not None, TIMEOUT):
                raise BrowserError(f"no {method} in {TIMEOUT} s")
            event = arrived()
            assert event is not None
            return event

    def events(self, session: str, since: int = 0) -> list[dict[str, Any]]:
        with self._arrived:
            return [event for event in self._events[since:] if event.get("sessionId") == session]

    @property
    def event_count(self) -> int:
        with self._arrived:
            return len(self._events)

    @contextmanager
    def page(self, width: int = 1000, height: int = 900, *, mobile: bool = False) -> Iterator[Page]:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, session)
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(domain, session)
        page.resize(width, height, mobile=mobile)
        try:
            yield page
        finally:
            self.send("Target.closeTarget", targetId=target)

    def close(self) -> None:
        with suppress(BrowserError):
            self.send("Browser.close")
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._writer)
        self._thread.join(5)
        os.close(self._reader)
        self._profile.cleanup()


class Page:
    """A tab: load a URL, run JavaScript in it, type, take screenshots."""

    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser, self.session = browser, session
        self.loaded_at = 0

    def resize(self, width: int, height: int, *, mobile: bool = False) -> None:
        self.browser.send(
            "Emulation.setDeviceMetricsOverride",
            self.session,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )

    def color_scheme(self, scheme: str) -> None:
        self.browser.send(
            "Emulation.setEmulatedMedia",
            self.session,
            features=[{"name": "prefers-color-scheme", "value": scheme}],
        )

    def goto(self, url: str) -> None:
        since = self.browser.event_count
        self.loaded_at = since
        self.browser.send("Page.navigate", self.session, url=url)
        self.browser.wait_for_event("Page.loadEventFired", self.session, since)

    def follow(self, selector: str) -> None:
        """Click the link `selector` finds, and wait for the page it leads to."""
        since = self.browser.event_count
        self.loaded_at = since
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
        self.browser.wait_for_event("Page.loadEventFired", self.session, since)

    def evaluate(self, expression: str) -> Any:
        result = self.browser.send(
            "Runtime.evaluate",
            self.session,
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def type(self, selector: str, text: str) -> None:
        """Focus the element and type into it, as a person would: real input events."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.browser.send("Input.insertText", self.session, text=text)

    def screenshot(self, path: Path) -> Path:
        data = self.browser.send(
            "Page.captureScreenshot", self.session, format="png", captureBeyondViewport=True
        )["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def problems(self) -> list[str]:
        """What went wrong in the page since it was loaded: script exceptions, console
        errors, and what the browser logged (a Content-Security-Policy refusal among it)."""
        found: list[str] = []
        for event in self.browser.events(self.session, self.loaded_at):
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                found.append(str(params["exceptionDetails"]))
            elif event["method"] == "Runtime.consoleAPICalled" and params["type"] == "error":
                found.append(str(params["args"]))
            elif event["method"] == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"]["text"])
        return found
