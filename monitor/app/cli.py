"""The `finmon` command: argument parsing, settings and logging set-up; each command is a named step."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout

from monitor.app import alerts_cli, config_cli, dashboard_cli, kibana_cli, labels_cli, scrape_cli, training_cli
from monitor.app.arguments import existing_file, positive_float, positive_int
from monitor.app.logs import configure_logging
from monitor.app.settings import Settings, SettingsError, load_settings
from monitor.contracts import Unreachable
from monitor.scoring.modeldir import ModelFormatError
from monitor.stage_settings import ElasticsearchSettings
from monitor.store.mappings import SetupError

log = logging.getLogger("finmon")


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.app.indices import index_specs
    from monitor.app.servers import running_services
    from monitor.stream.worker import build_worker, run_worker
    from monitor.telemetry.endpoint import serve_metrics

    with running_services(settings) as live:
        if settings.kafka.embedded:
            log.info(
                "no Kafka configured: replay into FINMON_KAFKA__BOOTSTRAP_SERVERS=%s",
                ",".join(live.kafka.bootstrap_servers),
            )
        indices = index_specs(live.es)
        worker = build_worker(live.kafka, live.es, live.model, live.worker, data_dir=live.data_dir, indices=indices)
        with serve_metrics(live.metrics, worker.metrics, "worker", worker.healthy):
            return run_worker(worker, live.log_level)


def cmd_setup(args: argparse.Namespace, settings: Settings) -> int:
    """Create or check index templates, the ILM policy and indices; print one line per object."""
    from monitor.app.indices import index_specs
    from monitor.store.es import make_client
    from monitor.store.es_setup import run_setup

    if settings.es.embedded:
        raise SettingsError("FINMON_ES__URLS: setup needs a running Elasticsearch (the embedded one sets itself up)")
    client = make_client(settings.es)
    try:
        for step in run_setup(client, settings.es, index_specs(settings.es)):
            print(step)
    finally:
        client.close()
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from monitor.stream.kafka import ensure_topics, make_producer
    from monitor.stream.replay import replay

    if settings.kafka.embedded:
        raise SettingsError("FINMON_KAFKA__BOOTSTRAP_SERVERS: replay needs a running broker (or use `finmon up`)")
    ensure_topics(settings.kafka)
    producer = make_producer(settings.kafka)
    topic = args.topic or settings.kafka.raw_topic
    with tqdm(desc=f"replay → {topic}", unit="msg") as bar:
        sent = replay(args.file, producer, topic, rate=args.rate, on_sent=bar.update)
    producer.close()
    log.info("sent %d messages to %s", sent, topic)
    return 0


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.app.up import run_up
    from monitor.telemetry.endpoint import serve_metrics
    from monitor.telemetry.series import Metrics

    metrics = Metrics()
    with serve_metrics(settings.metrics, metrics, "up"):
        return run_up(
            settings,
            demo=args.demo,
            replay_file=args.replay,
            rate=args.rate,
            view=not args.no_view,
            duration=args.duration,
            scrape=args.scrape,
            alerts=not args.no_alerts,
            metrics=metrics,
            screenshot=args.screenshot,
        )


def cmd_bench_pipeline(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.app.pipeline_bench import bench_pipeline

    model = settings.model.model_copy(
        update={k: v for k, v in {"path": args.model, "backend": args.backend}.items() if v is not None}
    )
    settings = settings.model_copy(update={"model": model})
    return bench_pipeline(settings, texts_file=args.texts, limit=args.limit, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="finmon", description="Streaming sentiment and topic monitor for financial news."
    )
    parser.add_argument("--config", type=existing_file, help="TOML settings file (also FINMON_CONFIG)")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="overrides FINMON_LOG_LEVEL")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    worker = commands.add_parser("worker", help="run a stream worker: news.raw → model → Elasticsearch")
    worker.set_defaults(func=cmd_worker)

    setup = commands.add_parser("setup", help="create or check Elasticsearch index templates, ILM policy, indices")
    setup.set_defaults(func=cmd_setup)

    rep = commands.add_parser("replay", help="send a JSONL or CSV file of news to news.raw")
    rep.add_argument("file", type=existing_file, help="JSONL (one NewsItem per line) or CSV with title/text columns")
    rep.add_argument("--rate", type=positive_float, help="messages per second (default: as fast as possible)")
    rep.add_argument("--topic", help="topic to send to (default: the raw topic)")
    rep.set_defaults(func=cmd_replay)

    up = commands.add_parser("up", help="run everything: servers (embedded unless configured), worker, live view")
    up.add_argument("--demo", action="store_true", help="replay the demo feed shipped with finmon")
    up.add_argument("--replay", type=existing_file, help="replay this JSONL/CSV file instead")
    up.add_argument("--rate", type=positive_float, default=5.0, help="replay rate, messages/s (default 5)")
    up.add_argument("--no-view", action="store_true", help="log instead of drawing the live view")
    up.add_argument(
        "--scrape",
        action=argparse.BooleanOptionalAction,
        help="poll the configured feeds (default: yes, unless --demo or --replay)",
    )
    up.add_argument("--no-alerts", action="store_true", help="do not run the alert evaluator")
    up.add_argument("--duration", type=positive_float, help="stop after this many seconds")
    up.add_argument(
        "--screenshot",
        type=Path,
        metavar="FILE",
        help="once the replay has settled, save the dashboard page as PNG and stop",
    )
    up.set_defaults(func=cmd_up)

    bench = commands.add_parser("bench", help="benchmarks that print figures")
    benches = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    pipe = benches.add_parser("pipeline", help="docs/s of the scorer alone vs the whole Kafka → worker → ES path")
    pipe.add_argument("--texts", type=existing_file, help="CSV with a text column (default: shared sentiment valid)")
    pipe.add_argument("--limit", type=positive_int, default=2000, help="texts to use (default 2000)")
    pipe.add_argument("--model", help="model directory (default: FINMON_MODEL__PATH or the shipped model)")
    pipe.add_argument("--backend", choices=["onnx", "torch"], help="scorer backend (default: FINMON_MODEL__BACKEND)")
    pipe.add_argument("--json", action="store_true", help="print the figures as one JSON object, last on stdout")
    pipe.set_defaults(func=cmd_bench_pipeline)
    training_cli.register_bench(benches)
    training_cli.register(commands)
    scrape_cli.register(commands)
    alerts_cli.register(commands)
    kibana_cli.register(commands)
    dashboard_cli.register(commands)
    labels_cli.register(commands)
    config_cli.register(commands)
    return parser


def es_unreachable(es: ElasticsearchSettings, exc: Exception) -> str:
    """One line for a cluster that refused or did not answer: the setting, the address, what happened."""
    where = ",".join(es.urls) or "the embedded server"
    return f"FINMON_ES__URLS: cannot reach Elasticsearch at {where}: {type(exc).__name__}"


def _terminate_as_interrupt() -> None:
    """SIGTERM unwinds like Ctrl-C, so context managers stop embedded servers (no orphans)."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config, **({"log_level": args.log_level} if args.log_level else {}))
    except SettingsError as exc:
        print(f"finmon: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    _terminate_as_interrupt()
    func: Callable[[argparse.Namespace, Settings], int] = args.func
    try:
        return func(args, settings)
    except SettingsError as exc:
        print(f"finmon: {exc}", file=sys.stderr)
        return 2
    except SetupError as exc:
        print(f"finmon: {exc}", file=sys.stderr)
        return 1
    except ModelFormatError as exc:
        print(f"finmon: FINMON_MODEL__PATH: {exc}", file=sys.stderr)
        return 2
    except Unreachable as exc:
        print(f"finmon: {exc}", file=sys.stderr)
        return 1
    except (TransportConnectionError, ConnectionTimeout) as exc:
        print(f"finmon: {es_unreachable(settings.es, exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
