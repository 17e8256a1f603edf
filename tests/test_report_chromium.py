"""The HTML report in a real browser (Debian's headless Chromium), driven over DevTools.

The browser listens on loopback only (``--remote-debugging-port`` binds 127.0.0.1), opens the
report from a ``file://`` URL with networking features off, and the test asserts: no console
error, no exception, no request but the file itself, the sorting script ran (under the CSP),
and none of the payloads from the inputs executed (they would set ``window.__xss`` or the
title). Skipped when Chromium or websocket-client is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analyzer.analysis import analyze
from tests.test_report_html import payload_inputs

websocket = pytest.importorskip("websocket")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
TIMEOUT = 30.0


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[str]:
    """A headless Chromium; yields the DevTools HTTP base URL on loopback."""
    assert CHROMIUM is not None
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-extensions", "--disable-default-apps",
         f"--user-data-dir={tmp_path / 'profile'}", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", "--enable-logging=stderr", "--v=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT
        assert proc.stderr is not None
        base = None
        while time.monotonic() < deadline and base is None:
            line = proc.stderr.readline()
            m = re.search(r"DevTools listening on ws://(127\.0\.0\.1:\d+)/", line)
            if m:
                base = f"http://{m.group(1)}"
        assert base is not None, "Chromium did not start its DevTools endpoint"
        yield base
    finally:
        proc.kill()
        proc.wait(timeout=10)


class Page:
    """One DevTools page session: send commands, collect events."""

    def __init__(self, base: str) -> None:
        with urllib.request.urlopen(f"{base}/json/list", timeout=10) as r:
            targets = json.load(r)
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        assert url.startswith("ws://127.0.0.1:")
        self.ws = websocket.create_connection(url, timeout=TIMEOUT, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                assert "error" not in msg, msg
                return dict(msg.get("result", {}))
            self.events.append(msg)

    def wait_for(self, method: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not any(e.get("method") == method for e in self.events):
            assert time.monotonic() < deadline, f"no {method}"
            self.events.append(json.loads(self.ws.recv()))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def of(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.events if e.get("method") == method]


def test_report_renders_cleanly_and_runs_no_payload(browser: str, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    html = analyze(payload_inputs(inputs)).render("html")
    assert isinstance(html, str)
    assert "__xss" in html  # the payloads are in the page, as text
    report = tmp_path / "report.html"
    report.write_text(html, encoding="utf-8")
    url = report.as_uri()

    page = Page(browser)
    for domain in ("Network", "Runtime", "Log", "Page"):
        page.call(f"{domain}.enable")
    page.call("Page.navigate", url=url)
    page.wait_for("Page.loadEventFired")
    state = page.evaluate(
        "JSON.stringify({title: document.title, xss: typeof window.__xss,"
        " tables: document.querySelectorAll('table.sortable').length,"
        " svgs: document.querySelectorAll('svg').length})"
    )
    th = "document.querySelector('#readiness th.num')"
    sorted_to = page.evaluate(f"{th}.click(); {th}.getAttribute('aria-sort')")
    page.ws.close()

    assert json.loads(state) == {
        "title": "Mail transport TLS report",
        "xss": "undefined",
        "tables": json.loads(state)["tables"],
        "svgs": json.loads(state)["svgs"],
    }
    assert json.loads(state)["tables"] >= 5
    assert sorted_to == "ascending"  # the inline script ran: the CSP hash matches
    requests = [e["request"]["url"] for e in page.of("Network.requestWillBeSent")]
    assert requests == [url]
    errors = [e for e in page.of("Runtime.consoleAPICalled") if e["type"] in ("error", "assert")]
    assert errors == []
    assert page.of("Runtime.exceptionThrown") == []
    assert [e["entry"] for e in page.of("Log.entryAdded") if e["entry"]["level"] == "error"] == []
