"""`/api/health`: the health strip's figures, read at request time from finmon's processes: the registry of
the process serving the page (`finmon up` runs the scraper and the alert evaluator in it) and the /metrics
endpoints of the others (`finmon up`'s worker child, or FINMON_DASHBOARD__METRICS_URLS for `finmon dashboard`).
A source that does not answer is listed as such and its figures read as unknown."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from monitor.dashboard.am_state import display_url
from monitor.dashboard.health_strip import Sample, SourceResult, parse_exposition, summary
from monitor.dashboard.remote_fetch import Fetcher, FetchError
from monitor.telemetry.http_server import Reply, Request, Route, error_reply, json_reply

WORKER_URL = re.compile(r"worker metrics on (http://[^\s\"]+/metrics)")
LOG_TAIL = 256 * 1024  # bytes of the worker's log searched for its metrics address


@dataclass(frozen=True)
class Remote:
    """A process's /metrics: `url()` gives its address, or None while it is not known (yet)."""

    name: str
    url: Callable[[], str | None]


def fixed(url: str) -> Callable[[], str | None]:
    return lambda: url


def from_worker_log(log_file: Path) -> Callable[[], str | None]:
    """The address a `finmon up` worker child logged last (its port is a free one unless FINMON_METRICS__PORT)."""

    def url() -> str | None:
        try:
            with log_file.open("rb") as log:
                log.seek(max(0, log_file.stat().st_size - LOG_TAIL))
                found = WORKER_URL.findall(log.read().decode("utf-8", "replace"))
        except OSError:
            return None
        return found[-1] if found else None

    return url


def _read(body: bytes) -> list[Sample]:
    return parse_exposition(body.decode("utf-8"))


class HealthView:
    def __init__(
        self,
        registry: CollectorRegistry | None,
        remotes: Sequence[Remote],
        fetcher: Fetcher | None = None,
        wall: Callable[[], float] = time.time,
        local_name: str = "finmon up",
    ) -> None:
        self.registry, self.remotes, self.wall, self.local_name = registry, list(remotes), wall, local_name
        self.fetcher = fetcher or Fetcher()

    def _local(self) -> list[SourceResult]:
        if self.registry is None:
            return []
        return [SourceResult(self.local_name, parse_exposition(generate_latest(self.registry).decode()))]

    def _remote(self) -> list[SourceResult]:
        urls = [(remote.name, remote.url()) for remote in self.remotes]
        known = [url for _, url in urls if url]
        answers = iter(self.fetcher.many(known, _read))
        results = []
        for name, url in urls:
            if url is None:
                results.append(SourceResult(name, error="address not known yet"))
                continue
            answer = next(answers)
            label = f"{name} ({display_url(url)})"
            if isinstance(answer, FetchError):
                results.append(SourceResult(label, error=str(answer)))
            else:
                results.append(SourceResult(label, answer))
        return results

    def answer(self) -> dict[str, Any]:
        return summary([*self._local(), *self._remote()], self.wall())


def health_route(view: HealthView) -> Route:
    def route(request: Request) -> Reply:
        if request.method != "GET":
            return error_reply(405, f"{request.method} is not allowed here")
        return json_reply(200, view.answer())

    return route
