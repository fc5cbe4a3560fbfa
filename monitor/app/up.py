"""`finmon up`: the all-in-one monitor — servers (embedded unless configured), a worker, a feed, a live view."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from elasticsearch import Elasticsearch

from alerts.alert_service import AlertService
from alerts.rules import Rules
from monitor.app.alerting import alert_service_for
from monitor.app.demo import ReplayClock, demo_alerting, demo_feed
from monitor.app.indices import index_specs
from monitor.app.live_queries import Sampler, alert_summaries, scrape_note
from monitor.app.live_stats import Settled, Snapshot
from monitor.app.servers import running_services
from monitor.app.settings import Settings
from monitor.app.supervise import DeadLetterCounter, Feeding, child_metrics, start_feed, worker_process
from monitor.ingest.scraper import Scraper, build_scraper
from monitor.scoring.modeldir import ModelSpec, model_dir_for
from monitor.store.es import make_client
from monitor.store.es_setup import ensure_setup
from monitor.stream.kafka import ensure_topics
from monitor.telemetry.series import Metrics

if TYPE_CHECKING:
    from monitor.app.view import LiveView, LogView

log = logging.getLogger(__name__)


SCREENSHOT_QUIET = 5.0  # seconds after the replay is all indexed before `--screenshot` (the alerts catch up)


@contextlib.contextmanager
def alert_service(
    settings: Settings, rules: Rules | None, clock: ReplayClock | None, metrics: Metrics | None = None
) -> Iterator[AlertService]:
    service = alert_service_for(settings, rules=rules, clock=clock, metrics=metrics)
    service.start()
    try:
        yield service
    finally:
        service.stop()


@contextlib.contextmanager
def scraper(settings: Settings, metrics: Metrics | None = None) -> Iterator[Scraper]:
    with build_scraper(settings.scrape, settings.kafka, data_dir=settings.data_dir) as running:
        if metrics is not None:
            metrics.observe_scrape(running.stats.snapshot)
        running.start()
        yield running


def _serve_page(
    stack: contextlib.ExitStack, live: Settings, client: Elasticsearch, parts: Parts, metrics: Metrics | None
) -> str | None:
    """The dashboard page on loopback; a demo's charts follow its replay clock on `published_at`; its health
    strip reads this process's metrics and the worker child's /metrics (the address its log names)."""
    if not live.dashboard.enabled:
        return None
    from monitor.dashboard.health_view import Remote, from_worker_log
    from monitor.dashboard.page import dashboard

    time_field = "published_at" if parts.clock is not None else None
    now = parts.clock or (lambda: datetime.now(UTC))
    registry = metrics.registry if metrics is not None else None
    worker = [Remote("worker", from_worker_log(parts.worker_log))]
    try:
        page = dashboard(
            live.dashboard,
            live.es,
            client,
            now,
            alertmanager_urls=live.alerts.alertmanager_urls,
            time_field=time_field,
            registry=registry,
            remotes=worker,
        )
        url = stack.enter_context(page)
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


@dataclass
class Parts:
    """What `finmon up` started beside the servers, as the watch loop reads it."""

    worker: subprocess.Popen[bytes]
    worker_log: Path
    sampler: Sampler
    feeding: Feeding
    clock: ReplayClock | None = None
    service: AlertService | None = None
    scraper: Scraper | None = None
    page: str | None = None


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
            parts = Parts(worker, worker_log, Sampler(live, client, dead), Feeding())
            alert_settings, rules = live, None
            if demo and replay_file is None:
                alert_settings, rules, parts.clock = demo_alerting(live, demo_feed())
            if alerts:
                parts.service = stack.enter_context(alert_service(alert_settings, rules, parts.clock, metrics))
            parts.scraper = stack.enter_context(scraper(live, metrics)) if scrape else None
            if feed is not None:
                parts.feeding = start_feed(live, feed, rate, parts.clock)
            parts.page = _serve_page(stack, live, client, parts, metrics)
            with LiveView(live, worker_log) if view else LogView() as screen:
                return _watch(parts, screen, duration, screenshot)


def _watch(parts: Parts, screen: LiveView | LogView, duration: float | None, screenshot: Path | None) -> int:
    """Refresh the view every second until `duration`, the worker's exit (status 1) or, with `screenshot`,
    the replay settled and the page saved."""
    settled = Settled(SCREENSHOT_QUIET)
    deadline = time.monotonic() + duration if duration else None
    while deadline is None or time.monotonic() < deadline:
        if parts.worker.poll() is not None:
            log.error("the worker exited with %s; see %s", parts.worker.returncode, parts.worker_log)
            return 1
        snapshot = _refresh(parts)
        screen.update(snapshot)
        all_in = parts.feeding.done() and snapshot.indexed + snapshot.dead_letters >= parts.feeding.sent
        if screenshot and settled.push(time.monotonic(), all_in):
            return _take_screenshot(parts.page, screenshot)
        time.sleep(1.0)
    return 0


def _refresh(parts: Parts) -> Snapshot:
    """The index's figures, the firing alerts and the notes; a demo's clock learns how far indexing got."""
    snapshot = parts.sampler.snapshot()
    if parts.clock is not None:
        parts.clock.indexed(snapshot.indexed)
    snapshot.alerts = alert_summaries(parts.service)
    snapshot.notes = [*([f"dashboard: {parts.page}"] if parts.page else []), *scrape_note(parts.scraper)]
    return snapshot
