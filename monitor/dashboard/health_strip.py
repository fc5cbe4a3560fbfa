"""finmon's own state in a few lines for the page's health strip (pure): workers, consumer lag, dead letters,
feeds, alert evaluation and deliveries, from the Prometheus series the processes expose. A figure no source
gave is "unknown", never a zero."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

STALLED_AFTER = 120.0  # seconds without a batch while messages wait
LAG_WARN = 100.0  # messages waiting
DEAD_SHARE_WARN = 0.05  # of the documents in
FEED_STALE = 1800.0  # seconds since a feed's last success, with failed polls since
EVALUATION_LATE = 300.0  # seconds since the last evaluation run


@dataclass(frozen=True)
class Sample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float

    def label(self, name: str) -> str:
        return dict(self.labels).get(name, "")


def parse_exposition(text: str) -> list[Sample]:
    """Samples of a Prometheus text exposition (ValueError when it is not one)."""
    try:
        return [
            Sample(s.name, tuple(sorted(s.labels.items())), float(s.value))
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]
    except (IndexError, KeyError, TypeError) as exc:
        raise ValueError(f"not a Prometheus exposition: {exc}") from None


@dataclass(frozen=True)
class SourceResult:
    """One place the figures came from (`finmon up` in-process, a process's /metrics), or why not."""

    name: str
    samples: Sequence[Sample] = ()
    error: str | None = None


@dataclass
class Item:
    name: str
    state: str  # ok, warn, bad, unknown
    text: str
    details: list[str] = field(default_factory=list)


class Figures:
    """The samples of every source that answered, by series name."""

    def __init__(self, results: Iterable[SourceResult]) -> None:
        self.by_name: dict[str, list[Sample]] = defaultdict(list)
        for result in results:
            for sample in result.samples:
                self.by_name[sample.name].append(sample)

    def all(self, name: str, **labels: str) -> list[Sample]:
        return [s for s in self.by_name.get(name, []) if all(s.label(k) == v for k, v in labels.items())]

    def total(self, name: str, **labels: str) -> float | None:
        found = self.all(name, **labels)
        return sum(s.value for s in found) if found else None

    def newest(self, name: str) -> float | None:
        found = [s.value for s in self.all(name) if s.value > 0]
        return max(found) if found else None


def ago(seconds: float) -> str:
    if seconds < 0:
        return "just now"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def workers(figures: Figures) -> Item:
    ups = figures.all("finmon_up", component="worker")
    if not ups:
        return Item("workers", "unknown", "unknown (no worker metrics read)")
    up = sum(1 for s in ups if s.value >= 1)
    unhealthy = sum(1 for s in figures.all("finmon_healthy", component="worker") if s.value < 1)
    state = "bad" if up == 0 or unhealthy else "ok"
    text = f"{up} of {len(ups)} up" + (f", {unhealthy} unhealthy (failed or stalled)" if unhealthy else "")
    return Item("workers", state, text)


def lag(figures: Figures, now: float) -> Item:
    waiting = figures.total("finmon_worker_consumer_lag")
    last = figures.newest("finmon_worker_last_batch_timestamp_seconds")
    if waiting is None:
        return Item("lag", "unknown", "unknown (no worker metrics read)")
    since = f"; last batch {ago(now - last)}" if last is not None else "; no batch yet"
    stalled = waiting > 0 and (last is None or now - last > STALLED_AFTER)
    state = "bad" if stalled else "warn" if waiting > LAG_WARN else "ok"
    return Item("lag", state, f"{waiting:.0f} messages waiting{since}")


def dead_letters(figures: Figures) -> Item:
    dead = figures.total("finmon_worker_dead_letters_total")
    docs_in = figures.total("finmon_worker_documents_in_total")
    if dead is None and docs_in is None:
        return Item("dead letters", "unknown", "unknown (no worker metrics read)")
    dead = dead or 0.0  # a worker's registry read, with no stage's counter yet: none dead-lettered
    share = dead / docs_in if docs_in else None
    text = f"{dead:.0f}" + (f" ({share:.1%} of {docs_in:.0f} in)" if share is not None else "")
    return Item("dead letters", "warn" if share is not None and share > DEAD_SHARE_WARN else "ok", text)


def feeds(figures: Figures, now: float) -> Item:
    polls = figures.all("finmon_scrape_feed_polls_total")
    if not polls:
        return Item("feeds", "unknown", "unknown (no scraper metrics read)")
    names = sorted({s.label("feed") for s in polls})
    last = {s.label("feed"): s.value for s in figures.all("finmon_scrape_feed_last_success_timestamp_seconds")}
    failing = [name for name in names if _feed_failing(figures, name, last.get(name), now)]
    details = [f"{name}: last success {ago(now - last[name]) if last.get(name) else 'never'}" for name in failing]
    text = f"{len(names) - len(failing)} of {len(names)} ok" + (f"; failing: {', '.join(failing)}" if failing else "")
    return Item("feeds", "bad" if failing else "ok", text, details)


def _feed_failing(figures: Figures, name: str, last_success: float | None, now: float) -> bool:
    failed = sum(
        s.value for s in figures.all("finmon_scrape_feed_polls_total", feed=name) if s.label("outcome") != "ok"
    )
    return failed > 0 and (not last_success or now - last_success > FEED_STALE)


def evaluation(figures: Figures, now: float) -> Item:
    last = figures.newest("finmon_alert_last_evaluation_timestamp_seconds")
    if last is None:
        ran = figures.all("finmon_alert_last_evaluation_timestamp_seconds")
        return Item("alert evaluation", "unknown", "not run yet" if ran else "unknown (no evaluator metrics read)")
    late = now - last > EVALUATION_LATE
    return Item("alert evaluation", "bad" if late else "ok", f"last run {ago(now - last)}")


def deliveries(figures: Figures) -> Item:
    pending = {s.label("kind"): s.value for s in figures.all("finmon_alert_outbox_pending")}
    outcomes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for s in figures.all("finmon_alert_deliveries_total"):
        outcomes[s.label("kind")][s.label("outcome")] += s.value
    kinds = sorted(set(pending) | set(outcomes))
    if not kinds and figures.all("finmon_alert_last_evaluation_timestamp_seconds"):
        return Item("deliveries", "ok", "none sent (no receiver has had an alert)")
    if not kinds:
        return Item("deliveries", "unknown", "unknown (no evaluator metrics read)")
    details = [_kind_line(kind, pending.get(kind), outcomes.get(kind, {})) for kind in kinds]
    failed = sum(o.get("failed", 0) for o in outcomes.values())
    waiting = sum(pending.values())
    state = "bad" if failed else "warn" if waiting else "ok"
    text = f"{waiting:.0f} waiting, {failed:.0f} failed"
    return Item("deliveries", state, text, details)


def _kind_line(kind: str, pending: float | None, outcomes: dict[str, float]) -> str:
    counts = ", ".join(f"{n:.0f} {outcome}" for outcome, n in sorted(outcomes.items())) or "none sent"
    waiting = "unknown" if pending is None else f"{pending:.0f}"
    return f"{kind}: {waiting} waiting; {counts}"


def summary(results: Sequence[SourceResult], now: float) -> dict[str, Any]:
    """The strip: one item per concern, and each source with whether it answered."""
    figures = Figures(r for r in results if r.error is None)
    items = [
        workers(figures),
        lag(figures, now),
        dead_letters(figures),
        feeds(figures, now),
        evaluation(figures, now),
        deliveries(figures),
    ]
    sources = [{"name": r.name, "ok": r.error is None, **({"error": r.error} if r.error else {})} for r in results]
    return {"items": [item.__dict__ for item in items], "sources": sources}
