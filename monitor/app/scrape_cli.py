"""`finmon scrape`: poll the feeds into news.raw on a schedule, or once into a JSONL file (a dry run)."""

from __future__ import annotations

import argparse
import json
import logging
import threading
from pathlib import Path
from typing import Any

from monitor.app.settings import Settings, SettingsError

log = logging.getLogger("finmon.scrape")
STATS_EVERY = 60.0


def register(commands: Any) -> None:
    """Add the `scrape` command to the CLI's subparsers."""
    scrape = commands.add_parser("scrape", help="poll financial news feeds into news.raw (or once into a JSONL file)")
    scrape.add_argument("--once", action="store_true", help="fetch each feed once, then exit")
    scrape.add_argument("--feeds", type=Path, help="TOML feeds file (default: FINMON_SCRAPE__FEEDS_FILE or shipped)")
    scrape.add_argument("--out", type=Path, help="with --once: write NewsItems to this JSONL file, not to Kafka")
    scrape.add_argument("--state", type=Path, help="with --out: dedup state file to use (default: none, a dry run)")
    scrape.add_argument("--duration", type=float, help="stop after this many seconds (default: run until stopped)")
    scrape.set_defaults(func=cmd_scrape)


def cmd_scrape(args: argparse.Namespace, settings: Settings) -> int:
    if settings.log_level != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    if args.out and not args.once:
        raise SettingsError("--out writes a dry run and needs --once")
    if args.feeds:
        settings = settings.model_copy(update={"scrape": settings.scrape.model_copy(update={"feeds_file": args.feeds})})
    if args.out:
        return _dry_run(settings, args.out, args.state)
    return _to_kafka(settings, once=args.once, duration=args.duration)


def _dry_run(settings: Settings, out: Path, state: Path | None) -> int:
    from monitor.ingest.scraper import MEMORY, build_scraper
    from monitor.ingest.sinks import JsonlSink

    with build_scraper(
        settings.scrape, settings.kafka, data_dir=settings.data_dir, sink=JsonlSink(out), state_path=state or MEMORY
    ) as scraper:
        outcomes = scraper.run_once()
        _log_stats(scraper.stats.snapshot())
    emitted = sum(o.emitted for o in outcomes)
    log.info("wrote %d news items from %d feeds to %s", emitted, len(outcomes), out)
    return 0 if any(o.error is None for o in outcomes) or not outcomes else 1


def _to_kafka(settings: Settings, *, once: bool, duration: float | None) -> int:
    from monitor.ingest.scraper import build_scraper
    from monitor.stream.kafka import ensure_topics
    from monitor.telemetry.endpoint import serve_metrics
    from monitor.telemetry.series import Metrics

    if settings.kafka.embedded:
        raise SettingsError(
            "FINMON_KAFKA__BOOTSTRAP_SERVERS: scrape needs a running broker "
            "(or use `finmon up`, or `finmon scrape --once --out FILE.jsonl` for a dry run)"
        )
    ensure_topics(settings.kafka)
    with build_scraper(settings.scrape, settings.kafka, data_dir=settings.data_dir) as scraper:
        if once:
            outcomes = scraper.run_once()
            _log_stats(scraper.stats.snapshot())
            return 0 if any(o.error is None for o in outcomes) or not outcomes else 1
        scraper.start()
        metrics = Metrics()
        metrics.observe_scrape(scraper.stats.snapshot)
        with serve_metrics(settings.metrics, metrics, "scraper", lambda: scraper.running):
            _wait(scraper, duration)
    _log_stats(scraper.stats.snapshot())
    return 0


def _wait(scraper: Any, duration: float | None) -> None:
    """Block until Ctrl-C/SIGTERM (raised as KeyboardInterrupt) or the duration; log counters meanwhile."""
    stop = threading.Event()
    waited = 0.0
    while duration is None or waited < duration:
        step = STATS_EVERY if duration is None else min(STATS_EVERY, duration - waited)
        stop.wait(step)
        waited += step
        _log_stats(scraper.stats.snapshot())


def _log_stats(snapshot: dict[str, Any]) -> None:
    log.info("scrape counters: %s failures: %s", json.dumps(snapshot["counts"]), json.dumps(snapshot["failures"]))
