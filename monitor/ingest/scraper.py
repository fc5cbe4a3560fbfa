"""The scraper: `build_scraper(scrape, kafka, ...)` wires fetcher, state, linker and sink; `Scraper` runs
every feed once (`run_once`) or on its schedule (`start`/`stop`), and exposes `stats` for the live view."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.ingest.body import BodyFetcher, ExtractUnavailable, RobotsCache, load_extractor
from monitor.ingest.companies import default_extractor
from monitor.ingest.counters import ScrapeStats
from monitor.ingest.dedup import StoryLinker
from monitor.ingest.feeds import FeedConfig, load_feeds
from monitor.ingest.fetch import Fetcher
from monitor.ingest.language import LanguageDetector
from monitor.ingest.normalize import Normalizer
from monitor.ingest.pipeline import Ingestor, PollOutcome
from monitor.ingest.scheduler import FeedScheduler
from monitor.ingest.scrape_settings import ScrapeSettings
from monitor.ingest.similarity import from_bytes
from monitor.ingest.sinks import KafkaSink, Sink
from monitor.ingest.state import ScraperState
from monitor.stage_settings import KafkaSettings, SettingsError

log = logging.getLogger(__name__)

MEMORY = "memory"  # state_path value for a state that lives only as long as the scraper (dry runs)


class Scraper:
    """Polls the configured feeds into a sink. `stop()` waits for running polls, then flushes and closes."""

    def __init__(self, ingestor: Ingestor, feeds: list[FeedConfig], scrape: ScrapeSettings) -> None:
        self.ingestor = ingestor
        self.feeds = feeds
        self._scheduler = FeedScheduler(ingestor.poll, feeds, scrape.interval, scrape.jitter, scrape.workers)
        self._workers = scrape.workers
        self._closed = False

    @property
    def stats(self) -> ScrapeStats:
        return self.ingestor.stats

    @property
    def running(self) -> bool:
        return self._scheduler.running

    def run_once(self) -> list[PollOutcome]:
        """Poll every feed once (in parallel, politely per host) and return what each did."""
        with ThreadPoolExecutor(self._workers, thread_name_prefix="finmon-scrape") as pool:
            return list(pool.map(self.ingestor.poll, self.feeds))

    def start(self) -> None:
        """Poll every feed on its own interval in background threads until stop()."""
        self._scheduler.start()

    def stop(self) -> None:
        """Stop polling, wait for polls in flight, flush the sink (Kafka) and close files and connections."""
        if self._closed:
            return
        self._closed = True
        self._scheduler.stop(wait=True)
        self.ingestor.sink.close()
        self.ingestor.fetcher.close()
        self.ingestor.store.close()

    def __enter__(self) -> Scraper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def state_file(scrape: ScrapeSettings, data_dir: Path) -> Path:
    return scrape.state_path or data_dir / "ingest" / "state.sqlite3"


def build_scraper(
    scrape: ScrapeSettings,
    kafka: KafkaSettings,
    *,
    data_dir: Path,
    sink: Sink | None = None,
    feeds: list[FeedConfig] | None = None,
    state_path: Path | str | None = None,
) -> Scraper:
    """A ready Scraper. Items go to `sink`, else to Kafka's raw topic through a producer of its own (closed on
    stop). `state_path=MEMORY` keeps no state on disk."""
    feeds = load_feeds(scrape.feeds_file) if feeds is None else feeds
    path = None if state_path == MEMORY else Path(state_path or state_file(scrape, data_dir))
    store = ScraperState(path, scrape.seen_max_items, scrape.seen_ttl_days * 86400, _now)
    fetcher = Fetcher(scrape)
    ingestor = Ingestor(
        fetcher=fetcher,
        store=store,
        linker=_restored_linker(scrape, store, _now()),
        normalizer=Normalizer(default_extractor(), LanguageDetector(), scrape.max_future_skew),
        sink=sink or _kafka_sink(scrape, kafka),
        clock=_now,
        body=_body_fetcher(scrape, feeds, fetcher),
        fetch_body_default=scrape.fetch_body,
        body_min_chars=scrape.body_min_chars,
    )
    log.info("scraper: %d feeds, state in %s", len(feeds), path or "memory")
    return Scraper(ingestor, feeds, scrape)


def _now() -> datetime:
    return datetime.now(UTC)


def _restored_linker(scrape: ScrapeSettings, store: ScraperState, now: datetime) -> StoryLinker:
    """A story linker holding the items emitted within the window before a restart."""
    window = timedelta(hours=scrape.dedup_window_hours)
    linker = StoryLinker(window, scrape.similarity_threshold)
    for seen in store.recent(now - window):
        if seen.signature:
            linker.remember(seen.id, seen.story_id, seen.item_time, from_bytes(seen.signature), seen.seen_at or now)
    return linker


def _kafka_sink(scrape: ScrapeSettings, kafka: KafkaSettings) -> KafkaSink:
    from monitor.stream.kafka import make_producer

    return KafkaSink(make_producer(kafka), kafka.raw_topic, scrape.produce_timeout)


def _body_fetcher(scrape: ScrapeSettings, feeds: list[FeedConfig], fetcher: Fetcher) -> BodyFetcher | None:
    wanted = scrape.fetch_body or any(f.fetch_body for f in feeds)
    if not wanted:
        return None
    try:
        extract = load_extractor()
    except ExtractUnavailable as exc:
        raise SettingsError(f"FINMON_SCRAPE__FETCH_BODY: {exc}") from None
    return BodyFetcher(fetcher, RobotsCache(fetcher), extract)
