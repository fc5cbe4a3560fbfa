"""Logging set-up: APScheduler's per-run chatter only at DEBUG."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from monitor.app.logs import configure_logging


class Collector(logging.Handler):
    def __init__(self, seen: list[str]) -> None:
        super().__init__()
        self.seen = seen

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


def run_a_job_once() -> None:
    done = threading.Event()
    scheduler = BackgroundScheduler()
    scheduler.add_job(done.set)
    scheduler.start()
    assert done.wait(10)
    # the scheduler thread removes the spent one-off job after handing it over: shutting down before that
    # leaves the thread looking up a job that is gone (JobLookupError in the thread)
    deadline = time.monotonic() + 10
    while scheduler.get_jobs() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not scheduler.get_jobs()
    scheduler.shutdown(wait=True)


@pytest.mark.parametrize(("level", "shown"), [("INFO", False), ("DEBUG", True)])
def test_scheduler_chatter_only_at_debug(level: str, shown: bool) -> None:
    configure_logging(level)
    assert logging.getLogger("apscheduler").getEffectiveLevel() == (logging.DEBUG if shown else logging.WARNING)
    seen: list[str] = []
    collector = Collector(seen)
    logging.getLogger().addHandler(collector)  # what the console handler configure_logging made would print
    try:
        run_a_job_once()
    finally:
        logging.getLogger().removeHandler(collector)
        configure_logging("WARNING")
    assert any("Running job" in message for message in seen) is shown
    assert any("executed successfully" in message for message in seen) is shown
