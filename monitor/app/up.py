"""`finmon up`: the all-in-one monitor — servers (embedded unless configured), a worker, a feed, a live view."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaConsumer

from alerts.rules import Rules, load_rules
from alerts.service import AlertService
from monitor.app.alerting import build_alert_service
from monitor.app.embedded import die_with_parent
from monitor.app.indices import index_specs
from monitor.app.live_stats import Headline, RateMeter, ReplayClock, Settled, Snapshot, TopicRow
from monitor.app.metrics import Metrics
from monitor.app.services import running_services
from monitor.app.settings import Settings, to_env
from monitor.ingest.service import Scraper, build_scraper
from monitor.scoring.modeldir import ModelSpec, model_dir_for
from monitor.store.es import make_client
from monitor.store.es_setup import ensure_setup
from monitor.stream.kafka import client_options, ensure_topics, make_producer
from monitor.stream.replay import read_records, replay

log = logging.getLogger(__name__)


DEMO_INDEX_LAG = 3.0  # seconds between replaying a demo news item and counting it in an alert window
SCREENSHOT_QUIET = 5.0  # seconds after the replay is all indexed before `--screenshot` (the alerts catch up)


def demo_feed() -> Path:
    return Path(str(resources.files("monitor") / "demo" / "feed.jsonl"))


def demo_rules() -> Path:
    return Path(str(resources.files("monitor") / "demo" / "rules.yaml"))


@contextlib.contextmanager
def worker_process(settings: Settings, log_file: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`finmon worker` as a child process with the same settings; stopped with SIGTERM (then SIGKILL)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **to_env(settings)}
    with log_file.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor.app.cli", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class DeadLetterCounter:
    """Counts records on the DLQ topic in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.count = 0
        self._stop = threading.Event()
        self._consumer = KafkaConsumer(
            settings.kafka.dlq_topic, auto_offset_reset="earliest", **client_options(settings.kafka)
        )
        self._thread = threading.Thread(target=self._run, name="finmon-dlq-counter", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.count += sum(len(batch) for batch in self._consumer.poll(500).values())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()


class Sampler:
    """Reads the news index and the DLQ count into a Snapshot."""

    def __init__(self, settings: Settings, client: Elasticsearch, dead_letters: DeadLetterCounter) -> None:
        self.index = settings.es.news_index
        self.client = client
        self.dead_letters = dead_letters
        self.rates = RateMeter()

    def snapshot(self) -> Snapshot:
        self.client.indices.refresh(index=self.index)
        response = self.client.search(
            index=self.index,
            size=8,
            sort=[{"scored_at": "desc"}],
            aggs=_aggregations(),
            source_includes=["published_at", "sentiment", "topic", "title", "tickers"],
        )
        total = int(response["hits"]["total"]["value"])
        aggs = response["aggregations"]
        return Snapshot(
            indexed=total,
            rate=self.rates.push(time.monotonic(), total),
            dead_letters=self.dead_letters.count,
            topics=_rows(aggs["topics"]),
            tickers=_rows(aggs["tickers"]),
            latest=[_headline(hit["_source"]) for hit in response["hits"]["hits"]],
        )


def _aggregations() -> dict[str, Any]:
    negative = {"negative": {"filter": {"term": {"sentiment": "negative"}}}}
    return {
        "topics": {"terms": {"field": "topic", "size": 20}, "aggs": negative},
        "tickers": {"terms": {"field": "tickers", "size": 8}, "aggs": negative},
    }


def _rows(agg: dict[str, Any]) -> list[TopicRow]:
    return [TopicRow(b["key"], int(b["doc_count"]), int(b["negative"]["doc_count"])) for b in agg["buckets"]]


def _headline(source: dict[str, Any]) -> Headline:
    return Headline(
        str(source.get("published_at", ""))[11:16],
        source.get("sentiment", ""),
        source.get("topic", ""),
        source.get("title", ""),
        tuple(source.get("tickers", [])),
    )


@dataclass
class Feeding:
    """A replay in a background thread and how many records it has sent so far."""

    thread: threading.Thread | None = None
    sent: int = 0

    def done(self) -> bool:
        return self.thread is not None and not self.thread.is_alive()


def _feed(settings: Settings, path: Path, rate: float, clock: ReplayClock | None = None) -> Feeding:
    times = _published_times(path) if clock is not None else []
    feeding = Feeding()

    def on_sent(count: int) -> None:
        feeding.sent += count
        for _ in range(count):
            if clock is not None and times:
                clock.sent(times.pop(0))

    def run() -> None:
        producer = make_producer(settings.kafka)
        try:
            sent = replay(path, producer, settings.kafka.raw_topic, rate=rate, on_sent=on_sent)
            log.info("replayed %d items from %s", sent, path)
        finally:
            producer.close()

    feeding.thread = threading.Thread(target=run, name="finmon-replay", daemon=True)
    feeding.thread.start()
    return feeding


def _published_times(path: Path) -> list[datetime]:
    """published_at of each record of a replay file, in order (the previous one where a record has none)."""
    times: list[datetime] = []
    for raw in read_records(path):
        try:
            value = json.loads(raw).get("published_at")
            times.append(datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC))
        except (ValueError, AttributeError):
            times.append(times[-1] if times else datetime.now(UTC))
    return times


def demo_alerting(settings: Settings, feed: Path) -> tuple[Settings, Rules, ReplayClock]:
    """Alerting on the demo replay: event time (published_at) on a clock that follows the replay, demo rules
    sized for a feed of a few hundred news, evaluated every second so the accelerated day is followed."""
    times = _published_times(feed)
    clock = ReplayClock(times[0] if times else datetime.now(UTC), lag=DEMO_INDEX_LAG, monotonic=time.monotonic)
    alerts = settings.alerts.model_copy(update={"time_field": "published_at", "evaluate_every": 1.0})
    return settings.model_copy(update={"alerts": alerts}), load_rules(demo_rules()), clock


@contextlib.contextmanager
def alert_service(
    settings: Settings, rules: Rules | None, clock: ReplayClock | None, metrics: Metrics | None = None
) -> Iterator[AlertService]:
    service = build_alert_service(settings, rules=rules, clock=clock, metrics=metrics)
    service.start()
    try:
        yield service
    finally:
        service.stop()


@contextlib.contextmanager
def scraper(settings: Settings, metrics: Metrics | None = None) -> Iterator[Scraper]:
    with build_scraper(settings) as running:
        if metrics is not None:
            metrics.observe_scrape(running.stats.snapshot)
        running.start()
        yield running


def child_metrics(settings: Settings) -> Settings:
    """The worker child's settings: its metrics on the next port (or a free one), not on finmon up's."""
    port = settings.metrics.port + 1 if settings.metrics.port else 0
    return settings.model_copy(update={"metrics": settings.metrics.model_copy(update={"port": port})})


def _alert_rows(service: AlertService | None) -> list[dict[str, object]]:
    if service is None:
        return []
    return [
        {
            "summary": alert.summary or ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())),
            "labels": alert.labels,
            "starts_at": alert.starts_at.isoformat(),
            "negative_share": alert.negative_share,
            "baseline_share": alert.baseline_share,
            "volume": alert.volume,
        }
        for alert in service.firing()
    ]


def _serve_page(
    stack: contextlib.ExitStack, live: Settings, client: Elasticsearch, clock: ReplayClock | None
) -> str | None:
    """The dashboard page on loopback; a demo's charts follow its replay clock on `published_at`."""
    if not live.dashboard.enabled:
        return None
    from monitor.dashboard.service import dashboard

    time_field = "published_at" if clock is not None else None
    now = clock or (lambda: datetime.now(UTC))
    try:
        url = stack.enter_context(dashboard(live, client, now, time_field=time_field))
    except OSError as exc:
        log.warning("no dashboard: FINMON_DASHBOARD__PORT=%s: %s", live.dashboard.port, exc)
        return None
    log.info("dashboard: %s", url)
    return url


def _take_screenshot(url: str | None, out: Path) -> int:
    from monitor.dashboard.browser import ChromiumMissing, screenshot

    if url is None:
        log.error("--screenshot needs the dashboard page (FINMON_DASHBOARD__ENABLED, FINMON_DASHBOARD__PORT)")
        return 1
    try:
        log.info("wrote %s", screenshot(url, out))
    except ChromiumMissing as exc:
        log.error("%s", exc)
        return 1
    return 0


def _scrape_note(running: Scraper | None) -> list[str]:
    if running is None:
        return []
    counts = running.stats.snapshot()["counts"]
    return [
        "feeds: {polls} polls, {emitted} new, {duplicates} duplicates, {linked} linked, {failures} failures".format(
            **{key: counts.get(key, 0) for key in ("polls", "emitted", "duplicates", "linked", "failures")}
        )
    ]


def run_up(
    settings: Settings,
    *,
    demo: bool,
    replay_file: Path | None,
    rate: float,
    view: bool,
    duration: float | None,
    scrape: bool | None = None,
    alerts: bool = True,
    metrics: Metrics | None = None,
    screenshot: Path | None = None,
) -> int:
    """Servers, worker, optional feed replay, scraper (default: when nothing is replayed), alert evaluator, the
    dashboard page and the live view, until Ctrl-C/SIGTERM or `duration` (or, with `screenshot`, until the
    replay has settled and the page is saved there)."""
    from monitor.app.view import LiveView, LogView

    ModelSpec.load(model_dir_for(settings.model.path))  # fail before starting
    feed = replay_file or (demo_feed() if demo else None)
    scrape = feed is None if scrape is None else scrape
    with running_services(settings) as live:
        ensure_topics(live.kafka)
        client = make_client(live.es)
        ensure_setup(client, live.es, index_specs(live.es))
        worker_log = live.data_dir / "logs" / "worker.log"
        with worker_process(child_metrics(live), worker_log) as worker, contextlib.ExitStack() as stack:
            dead = DeadLetterCounter(live)
            stack.callback(dead.close)
            service: AlertService | None = None
            alert_settings, rules, clock = live, None, None
            if demo and replay_file is None:
                alert_settings, rules, clock = demo_alerting(live, demo_feed())
            if alerts:
                service = stack.enter_context(alert_service(alert_settings, rules, clock, metrics))
            running = stack.enter_context(scraper(live, metrics)) if scrape else None
            feeding = _feed(live, feed, rate, clock) if feed is not None else Feeding()
            page = _serve_page(stack, live, client, clock)
            settled = Settled(SCREENSHOT_QUIET)
            sampler = Sampler(live, client, dead)
            screen = LiveView(live, worker_log) if view else LogView()
            deadline = time.monotonic() + duration if duration else None
            with screen:
                while deadline is None or time.monotonic() < deadline:
                    if worker.poll() is not None:
                        log.error("the worker exited with %s; see %s", worker.returncode, worker_log)
                        return 1
                    snapshot = sampler.snapshot()
                    if clock is not None:
                        clock.indexed(snapshot.indexed)
                    snapshot.alerts = _alert_rows(service)
                    snapshot.notes = [*([f"dashboard: {page}"] if page else []), *_scrape_note(running)]
                    screen.update(snapshot)
                    all_in = feeding.done() and snapshot.indexed + snapshot.dead_letters >= feeding.sent
                    if screenshot and settled.push(time.monotonic(), all_in):
                        return _take_screenshot(page, screenshot)
                    time.sleep(1.0)
    return 0
