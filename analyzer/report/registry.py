"""The report formats and the module that renders each: one table, no if-chain.

Renderer modules are imported when first used, so a text or JSON report does not pay for
importing Jinja2 and compiling the HTML template.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from enum import StrEnum
from typing import cast

from analyzer.metrics.result import Analysis


class ReportFormat(StrEnum):
    """The formats ``mailtls report`` writes."""

    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"
    HTML = "html"


Renderer = Callable[[Analysis, bool], str | bytes]

RENDERERS: dict[ReportFormat, str] = {
    ReportFormat.TEXT: "analyzer.report.text",
    ReportFormat.MARKDOWN: "analyzer.report.markdown",
    ReportFormat.JSON: "analyzer.report.jsonout",
    ReportFormat.HTML: "analyzer.report.html",
}


def renderer(fmt: ReportFormat) -> Renderer:
    """The ``render(analysis, color)`` function of ``fmt``."""
    return cast(Renderer, importlib.import_module(RENDERERS[fmt]).render)
