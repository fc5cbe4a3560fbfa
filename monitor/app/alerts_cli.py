"""`finmon alerts` (run the evaluator), `finmon alerts backtest` and `finmon alerts simulate` (CLI layer: prints)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from alerts.rules import RulesError, load_rules
from monitor.app.arguments import existing_file
from monitor.app.settings import Settings, SettingsError

log = logging.getLogger("finmon.alerts")


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive whole number")
    return int(text)


def _rules(path: Path | None, settings: Settings) -> Any:
    try:
        return load_rules(path or settings.alerts.rules_file)
    except RulesError as exc:
        raise SettingsError(str(exc)) from None


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the evaluator alone (embedded Elasticsearch when none is configured) until interrupted."""
    from monitor.app.alerting import alert_service_for
    from monitor.app.servers import running_services
    from monitor.telemetry.endpoint import serve_metrics
    from monitor.telemetry.series import Metrics

    rules = _rules(args.rules, settings)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with running_services(settings, kafka_needed=False) as live:
        metrics = Metrics()
        service = alert_service_for(live, rules=rules, metrics=metrics)
        service.start()
        try:
            with serve_metrics(settings.metrics, metrics, "alerts", lambda: service.running):
                while not stop.wait(args.duration or 3600):
                    if args.duration:
                        break
        finally:
            service.stop()
    return 0


def cmd_backtest(args: argparse.Namespace, settings: Settings) -> int:
    """Print, as JSONL, every alert state change the rules produce over a file of scored events."""
    from alerts.lab.backtest import EventError, backtest_line, read_events, run_backtest

    rules = _rules(args.rules, settings)
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        with args.events.open(encoding="utf-8") as lines:
            events = list(read_events(lines))
    except EventError as exc:
        raise SettingsError(f"{args.events}: {exc}") from None
    changes = run_backtest(events, rules)
    for event in changes:
        if args.repeats or event.repeat == 0:
            print(backtest_line(event))
    if args.timing:
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rate = len(events) / wall if wall > 0 else 0.0
        print(
            f"backtest: {len(events):,} events, {len(changes):,} alert events in {wall:.1f} s wall, {cpu:.1f} s CPU "
            f"(reading included; {rate:,.0f} events/s)",
            file=sys.stderr,
        )
    return 0


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    """Generate synthetic streams with known surges, backtest them and print the quality figures (JSON)."""
    from alerts.lab.simulate import SimConfig, band_table, event_table, generate, simulate, simulate_seeds

    rules = _rules(args.rules, settings)
    config = SimConfig(weeks=args.weeks, seed=args.seed, scale=args.scale)
    if args.write_events:
        _write_events(args.write_events, generate(config).events())
    seeds = range(1, args.seeds + 1) if args.seeds else None
    figures = simulate_seeds(config, rules, seeds) if seeds else simulate(config, rules)
    if args.oracle:
        from alerts.lab.oracle import oracle

        rate = min(rule.false_alarms_per_week for rule in rules.rules)
        figures["oracle"] = oracle(config, seeds or [config.seed], args.calibration_seeds, rate)
    print(json.dumps(figures, indent=2))
    if args.table:
        print(band_table(figures))
        print(event_table(figures))
    if args.table and args.oracle:
        from alerts.lab.oracle import oracle_table

        print(oracle_table(figures, figures["oracle"]))
    return 0


def _write_events(path: Path, events: Any) -> None:
    """The synthetic stream as backtest input (JSONL), so `finmon alerts backtest` can replay it."""
    with path.open("w", encoding="utf-8") as out:
        for e in events:
            ts = e.ts.isoformat().replace("+00:00", "Z")
            line = {"ts": ts, "topic": e.topic, "sentiment": e.sentiment, "tickers": list(e.tickers)}
            out.write(json.dumps({**line, "story_id": e.story_id} if e.story_id else line))
            out.write("\n")


def register(commands: Any) -> None:
    """Add the `alerts` command group to finmon's argument parser."""
    alerts = commands.add_parser("alerts", help="run the alert evaluator; backtest or benchmark alert rules")
    alerts.add_argument(
        "--rules", type=existing_file, help="rules file (default: FINMON_ALERTS__RULES_FILE or shipped)"
    )
    alerts.add_argument("--duration", type=float, help="stop after this many seconds")
    alerts.set_defaults(func=cmd_run)
    sub = alerts.add_subparsers(dest="alerts_command", required=False, metavar="ALERTS_COMMAND")

    back = sub.add_parser("backtest", help="print the alert state changes rules produce over scored events (JSONL)")
    back.add_argument(
        "--events", type=existing_file, required=True, help="JSONL: ts, topic, sentiment, optional tickers"
    )
    back.add_argument("--rules", type=existing_file, help="rules file (default: the configured or shipped rules)")
    back.add_argument("--repeats", action="store_true", help="also print repeated firing notifications")
    back.add_argument("--timing", action="store_true", help="print the events, wall and CPU seconds to stderr")
    back.set_defaults(func=cmd_backtest)

    sim = sub.add_parser("simulate", help="quality benchmark on synthetic streams with injected surges")
    sim.add_argument("--rules", type=existing_file, help="rules file (default: the configured or shipped rules)")
    sim.add_argument("--weeks", type=_positive_int, default=4, help="simulated weeks (default 4)")
    sim.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    sim.add_argument("--seeds", type=_positive_int, help="pool the figures of seeds 1..N (instead of --seed)")
    sim.add_argument("--scale", type=float, default=1.0, help="multiply every scope's volume (default 1)")
    sim.add_argument("--table", action="store_true", help="also print the per-band table (markdown)")
    sim.add_argument(
        "--oracle",
        action="store_true",
        help="also score the known-baseline scan oracle (thresholds set on surge-free streams) on the same seeds",
    )
    sim.add_argument(
        "--calibration-seeds",
        type=_positive_int,
        default=10,
        help="surge-free streams (seeds 101..) that set the oracle's per-scope thresholds (default 10)",
    )
    sim.add_argument("--write-events", type=Path, help="also write the synthetic stream here (backtest input)")
    sim.set_defaults(func=cmd_simulate)
