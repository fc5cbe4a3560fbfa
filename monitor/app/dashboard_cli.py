"""`finmon dashboard`: the page and the review queue against the configured Elasticsearch, served or saved as a
screenshot."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.app.settings import Settings, SettingsError


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT") from None
    return width, height


def register(commands: Any) -> None:
    board = commands.add_parser(
        "dashboard", help="serve the dashboard page and the review queue for the configured Elasticsearch"
    )
    board.add_argument("--port", type=int, help="port (default: FINMON_DASHBOARD__PORT; 0 = a free one)")
    board.add_argument("--time-field", help="news date field (default: FINMON_DASHBOARD__TIME_FIELD or scored_at)")
    board.add_argument("--now", type=_moment, help="end the time ranges here instead of now (replayed history)")
    board.add_argument("--screenshot", type=Path, metavar="FILE", help="save a PNG of the page and exit")
    board.add_argument("--size", type=_size, default=(1400, 1400), help="screenshot WIDTHxHEIGHT (1400x1400)")
    board.set_defaults(func=cmd_dashboard)


def _clock(now: datetime | None) -> Callable[[], datetime]:
    return (lambda: now) if now is not None else (lambda: datetime.now(UTC))


def cmd_dashboard(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.dashboard.browser import ChromiumMissing, screenshot
    from monitor.dashboard.page import dashboard
    from monitor.store.es import make_client

    if settings.es.embedded:
        raise SettingsError("FINMON_ES__URLS: the dashboard reads a running Elasticsearch (`finmon up` serves it too)")
    client = make_client(settings.es)
    port = 0 if args.screenshot and args.port is None else args.port
    try:
        with dashboard(
            settings.dashboard,
            settings.es,
            client,
            _clock(args.now),
            alertmanager_urls=settings.alerts.alertmanager_urls,
            time_field=args.time_field,
            port=port,
        ) as url:
            if args.screenshot:
                try:
                    print(f"wrote {screenshot(url, args.screenshot, args.size)}")
                except ChromiumMissing as exc:
                    print(f"finmon: {exc}", file=sys.stderr)
                    return 1
                return 0
            print(f"dashboard: {url} (Ctrl-C stops)", file=sys.stderr)
            threading.Event().wait()
    finally:
        client.close()
    return 0
