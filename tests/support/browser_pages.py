"""What the page tests read from headless Chromium: the rendered DOM and the marks Vega drew."""

from __future__ import annotations

import re
from collections import Counter

from monitor.dashboard.browser import PageRun, run_page

MARK_GROUP = re.compile(r'<g class="mark-(\w+) role-mark[^"]*"[^>]*>(.*?)</g>', re.S)


def dump_dom(url: str, size: tuple[int, int] = (1400, 1400)) -> PageRun:
    return run_page(url, ["--dump-dom"], size)


def drawn_marks(svg: str) -> Counter[str]:
    """Items per data mark type (line, symbol, rect, rule, ...) in SVG that Vega rendered; axes, legends and
    grids have other roles and are not counted."""
    counts: Counter[str] = Counter()
    for kind, body in MARK_GROUP.findall(svg):
        counts[kind] += body.count("<path") + body.count("<line")
    return counts
