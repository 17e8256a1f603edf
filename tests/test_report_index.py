"""The batch index page: safe file names and links, escaped input names."""

from __future__ import annotations

import pytest

from analyzer.analysis import analyze_frames
from analyzer.report.index import IndexEntry, render, report_filenames
from tests.metrics_frames import deliveries, events, mailbox


def test_report_filenames_are_safe_and_unique() -> None:
    assert report_filenames(
        ["exports/All.mbox", "other/All.mbox", "../../etc/passwd", "javascript:alert(1)",
         "<img src=x onerror=alert(1)>.mbox", "dir/"],
        "html",
    ) == ["All.mbox.html", "All.mbox-2.html", "passwd.html", "javascript_alert_1.html",
          "img_src_x_onerror_alert_1_.mbox.html", "dir.html"]  # fmt: skip


def test_index_rows_and_escaping() -> None:
    a = analyze_frames(mailbox(), events(), deliveries())
    page = render([IndexEntry("<script>x</script>.mbox", "script_x_script_.mbox.html", a)])
    assert '<a href="script_x_script_.mbox.html">&lt;script&gt;x&lt;/script&gt;.mbox</a>' in page
    assert '<td class="num">5</td><td class="num">40.0%</td>' in page
    assert '<td class="num">60.0%</td><td class="num">2</td>' in page
    assert "<script" not in page


def test_index_refuses_unsafe_link() -> None:
    a = analyze_frames(mailbox(), events(), deliveries())
    with pytest.raises(ValueError, match="unsafe report file name"):
        render([IndexEntry("x", "javascript:alert(1)", a)])
