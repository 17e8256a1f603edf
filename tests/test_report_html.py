"""The HTML report: one self-contained file in which nothing from the input can run."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from analyzer.analysis import AnalysisResult, analyze, analyze_frames
from analyzer.report.html import CSP, SCRIPT_HASH, SORT_SCRIPT
from tests.metrics_frames import deliveries, events, mailbox

ROOT = Path(__file__).resolve().parent.parent
SCRIPT_PAYLOAD = "<script>window.__xss=1;document.title='pwned-script'</script>"
IMG_PAYLOAD = "<img src=x onerror=\"window.__xss=2;document.title='pwned-img'\">"
JS_PAYLOAD = "javascript:window.__xss=3"
# A real line of the Postfix lab log (sample_data/lab/postfix/mail.log, line 100) whose issuer
# DN, chosen by the peer's certificate, carries the payloads.
LOG_LINE = (
    "2026-11-27T21:28:45.217575+00:00 vm postfix/smtp[29213]: certificate verification failed "
    "for 127.0.0.46[127.0.0.46]:25: untrusted issuer /O="
    + SCRIPT_PAYLOAD
    + "/OU="
    + JS_PAYLOAD
    + "/CN="
    + IMG_PAYLOAD
)


def payload_inputs(tmp: Path) -> list[str]:
    """A mailbox (whose very name is a payload) and a log, with payloads in every field."""
    box = tmp / "<img src=x onerror=window.__xss=9>.mbox"
    box.write_text(
        "From payload@example.com Mon Nov  2 10:00:00 2026\n"
        f"Received: from [{SCRIPT_PAYLOAD}] by {IMG_PAYLOAD} with SMTP;"
        " Mon, 2 Nov 2026 10:00:00 +0000\n"
        f"Received: from mail.example.com ({JS_PAYLOAD} [192.0.2.9]) by mx.example.org"
        " (Postfix) with ESMTPS id 4ABC; Mon, 2 Nov 2026 10:00:00 +0000\n"
        f'From: "{SCRIPT_PAYLOAD}" <x@example.com>\n'
        f"Message-ID: <{SCRIPT_PAYLOAD}@example.com>\n"
        "Date: Mon, 2 Nov 2026 10:00:00 +0000\n\nbody\n",
        encoding="utf-8",
    )
    log = tmp / "mail.log"
    log.write_text(LOG_LINE + "\n", encoding="utf-8")
    return [str(box), str(log)]


@pytest.fixture(scope="module")
def payload_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("payload")
    out = analyze(payload_inputs(tmp)).render("html")
    assert isinstance(out, str)
    return out


def test_payloads_reach_the_report_escaped(payload_html: str) -> None:
    assert (
        "&lt;script&gt;window.__xss=1;document.title=&#39;pwned-script&#39;&lt;/script&gt;"
        in payload_html
    )
    assert "&lt;img src=x onerror=window.__xss=9&gt;.mbox" in payload_html
    assert JS_PAYLOAD in payload_html  # shown as text ...
    assert 'href="javascript' not in payload_html.lower()  # ... never as a link


class _Tags(HTMLParser):
    """Every start tag and its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def _tags(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def test_no_live_markup_from_input(payload_html: str) -> None:
    tags = _tags(payload_html)
    names = {t for t, _ in tags}
    assert "img" not in names
    assert [t for t, _ in tags].count("script") == 1  # the sorting script, pinned by the CSP
    for tag, attrs in tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            assert name not in ("src", "srcset", "action", "formaction"), (tag, name, value)
            if name in ("href", "xlink:href"):
                assert (value or "").startswith("#"), (tag, name, value)


def test_self_contained(payload_html: str) -> None:
    tags = _tags(payload_html)
    assert not {"link", "iframe", "object", "embed", "base", "form"} & {t for t, _ in tags}
    assert re.search(r"url\((?!#)", payload_html) is None  # only local clip paths
    assert "@import" not in payload_html


def test_csp_pins_the_only_script(payload_html: str) -> None:
    metas = [dict(a) for t, a in _tags(payload_html) if t == "meta"]
    policy = [m["content"] for m in metas if m.get("http-equiv") == "Content-Security-Policy"]
    assert policy == [CSP]
    digest = base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode()).digest()).decode()
    assert digest == SCRIPT_HASH
    assert f"script-src 'sha256-{SCRIPT_HASH}'" in CSP
    assert f"<script>{SORT_SCRIPT}</script>" in payload_html
    assert CSP.startswith("default-src 'none';")


def test_manager_summary_then_sections() -> None:
    out = analyze_frames(mailbox(), events(), deliveries()).render("html")
    assert isinstance(out, str)
    top = out[: out.index("<nav>")]
    assert '<div class="card bad"><b>40.0%</b>of messages encrypted</div>' in top
    assert '<div class="card bad"><b>60.0%</b>outbound fell back to plaintext</div>' in top
    assert "<li>2 certificate incident(s) with peer mail servers.</li>" in top
    assert top.count("<svg") == 1  # the coverage chart
    ids = re.findall(r'<section id="([a-z]+)">', out)
    assert ids == ["coverage", "fallback", "incidents", "failures", "strength", "readiness",
                   "join", "yield", "inputs"]  # fmt: skip
    assert "<pre># /etc/postfix/tls_policy" in out
    assert "@media print" in out


def test_render_is_deterministic() -> None:
    r: AnalysisResult = analyze_frames(mailbox(), events(), deliveries())
    assert r.render("html") == r.render("html")


def test_sample_data_report_has_every_section_with_content() -> None:
    out = analyze([str(ROOT / "sample_data")]).render("html")
    assert isinstance(out, str)
    for empty in ("No outbound delivery in the logs.", "No certificate failure in the logs.",
                  "No TLS failure in the logs.", "No peer domain to assess."):  # fmt: skip
        assert empty not in out
    assert out.count("<svg") >= 4
