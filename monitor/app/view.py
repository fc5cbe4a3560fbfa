"""The terminal views of `finmon up`: a live rich dashboard, or a log line for non-interactive runs."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import TracebackType

from rich.console import Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from monitor.app.live_stats import Snapshot, TopicRow
from monitor.app.settings import Settings

log = logging.getLogger(__name__)

SENTIMENT_STYLE = {"negative": "bold red", "neutral": "grey62", "positive": "green"}


def _share_bar(share: float, width: int = 20) -> Text:
    filled = round(share * width)
    style = "red" if share >= 0.5 else "yellow" if share >= 0.3 else "green"
    return Text("█" * filled + "·" * (width - filled), style=style) + Text(f" {share:5.0%}")


def _rows_table(title: str, rows: list[TopicRow], name: str) -> Table:
    table = Table(title=title, expand=True, title_justify="left")
    table.add_column(name, ratio=3)
    table.add_column("items", justify="right", ratio=1)
    table.add_column("negative share", ratio=3)
    for row in rows:
        table.add_row(row.topic, str(row.count), _share_bar(row.negative_share))
    return table


def _headlines(snapshot: Snapshot) -> Table:
    table = Table(title="Latest scored news", expand=True, title_justify="left")
    table.add_column("time", width=5)
    table.add_column("sentiment", width=9)
    table.add_column("topic", ratio=2)
    table.add_column("headline", ratio=6, overflow="ellipsis", no_wrap=True)
    for item in snapshot.latest:
        tickers = f" [{', '.join(item.tickers)}]" if item.tickers else ""
        table.add_row(
            item.time, Text(item.sentiment, SENTIMENT_STYLE.get(item.sentiment, "")), item.topic, item.title + tickers
        )
    return table


def _alerts(snapshot: Snapshot) -> Panel:
    if not snapshot.alerts:
        return Panel(Text("no alert firing", style="green"), title="Alerts", title_align="left")
    lines = [Text(summary, style="bold red") for summary in snapshot.alerts]
    return Panel(Group(*lines), title=f"Alerts firing: {len(snapshot.alerts)}", title_align="left")


def render(snapshot: Snapshot, settings: Settings, worker_log: Path) -> Group:
    header = Text.assemble(
        ("finmon  ", "bold"),
        (f"{snapshot.rate:6.1f} docs/s   ", "cyan"),
        (f"indexed {snapshot.indexed}   ", ""),
        (f"negative {snapshot.negative_share:.0%}   ", "red" if snapshot.negative_share > 0.4 else ""),
        (f"DLQ {snapshot.dead_letters}", "yellow" if snapshot.dead_letters else ""),
    )
    where = Text(
        f"Kafka {','.join(settings.kafka.bootstrap_servers)}  ·  Elasticsearch {','.join(settings.es.urls)}  ·  "
        f"worker log {worker_log}  ·  Ctrl-C stops",
        style="grey50",
    )
    parts: list[RenderableType] = [header, where, _alerts(snapshot), _rows_table("Topics", snapshot.topics, "topic")]
    if snapshot.tickers:
        parts.append(_rows_table("Most mentioned tickers", snapshot.tickers, "ticker"))
    parts.append(_headlines(snapshot))
    parts += [Text(note, style="grey50") for note in snapshot.notes]
    return Group(*parts)


class LiveView:
    """Redraws the dashboard in place."""

    def __init__(self, settings: Settings, worker_log: Path) -> None:
        self.settings = settings
        self.worker_log = worker_log
        self.live = Live(Text("starting…"), refresh_per_second=2, screen=False, transient=False)

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.live.__exit__(kind, exc, tb)

    def update(self, snapshot: Snapshot) -> None:
        self.live.update(render(snapshot, self.settings, self.worker_log))


class LogView:
    """One log line every few seconds (for `--no-view`, services and CI)."""

    def __init__(self, every: float = 2.0) -> None:
        self.every = every
        self.last = 0.0

    def __enter__(self) -> LogView:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, snapshot: Snapshot) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        log.info(
            "%.1f docs/s, %d indexed, %.0f%% negative, %d dead letters, %d alerts firing",
            snapshot.rate,
            snapshot.indexed,
            100 * snapshot.negative_share,
            snapshot.dead_letters,
            len(snapshot.alerts),
        )
