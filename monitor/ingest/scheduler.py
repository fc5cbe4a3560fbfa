"""APScheduler wiring: each feed is its own interval job with jitter; one poll of a feed at a time."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.ingest.feeds import FeedConfig

log = logging.getLogger(__name__)


def feed_interval(feed: FeedConfig, default: float) -> float:
    return feed.interval if feed.interval is not None else default


class FeedScheduler:
    """Runs `poll(feed)` for every feed on its interval (+ up to `jitter` of it), in a thread pool.

    First polls are spread over the first interval's jitter so a restart does not hit every host at once;
    a poll still running when the next is due is skipped (max_instances=1, coalesce), never stacked.
    """

    def __init__(
        self,
        poll: Callable[[FeedConfig], object],
        feeds: list[FeedConfig],
        default_interval: float,
        jitter: float,
        workers: int,
        rng: random.Random | None = None,
    ) -> None:
        self.poll = poll
        self.feeds = feeds
        self.default_interval = default_interval
        self.jitter = jitter
        self.rng = rng or random.Random()
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=UTC,
        )

    def start(self) -> None:
        now = datetime.now(UTC)
        for feed in self.feeds:
            interval = feed_interval(feed, self.default_interval)
            first = now + timedelta(seconds=self.rng.uniform(0, interval * self.jitter))
            self.scheduler.add_job(
                self.poll,
                IntervalTrigger(seconds=interval, jitter=interval * self.jitter or None, timezone=UTC),
                args=(feed,),
                id=feed.url,
                name=feed.name,
                next_run_time=first,
                misfire_grace_time=max(1, int(interval)),
            )
        self.scheduler.start()
        log.info("polling %d feeds", len(self.feeds))

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def stop(self, wait: bool = True) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
