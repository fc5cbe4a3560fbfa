"""Settings of the alerts section and the scheduler wiring of the service (no Elasticsearch needed)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from alerts.alert import AlertEvent
from alerts.alert_service import ActiveAlert, AlertService
from alerts.alert_settings import AlertSettings
from alerts.evaluator import CATCH_UP, Evaluator, window_end
from alerts.lab.memory_source import MemorySource, NewsEvent
from alerts.notifier import Notifier, NotifierConfig
from alerts.rules import load_rules, parse_rules
from monitor.app.settings import SettingsError, load_settings
from tests.helpers import wait_for
from tests.support.alerts_doubles import (
    AlwaysLease,
    CountingSource,
    MemoryHistory,
    MemoryOutbox,
    MemoryStateStore,
    observations_by_counts,
)

LAG = timedelta(seconds=60)  # the allowed lateness these evaluators run with


def test_alert_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINMON_CONFIG", raising=False)
    monkeypatch.setenv("FINMON_ALERTS__WEBHOOK_URLS", "http://a.example/hook,http://b.example/hook")
    monkeypatch.setenv("FINMON_ALERTS__HMAC_SECRET", "s3cret")
    alerts = load_settings().alerts
    assert alerts.webhook_urls == ["http://a.example/hook", "http://b.example/hook"]
    assert alerts.hmac_secret is not None and alerts.hmac_secret.get_secret_value() == "s3cret"
    config = NotifierConfig.of(alerts)
    assert [t.kind for t in config.targets] == ["alertmanager", "alertmanager"] and config.secret == "s3cret"
    assert "s3cret" not in repr(alerts)


def test_bad_alert_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINMON_CONFIG", raising=False)
    monkeypatch.setenv("FINMON_ALERTS__SLACK_WEBHOOK_URLS", "hooks.slack.com/x")
    with pytest.raises(SettingsError, match="FINMON_ALERTS__SLACK_WEBHOOK_URLS"):
        load_settings()


def test_window_end_is_aligned_and_lagged() -> None:
    rules = load_rules()
    now = datetime(2024, 1, 2, 12, 3, 30, tzinfo=UTC)
    assert window_end(now, rules.step, rules.step * 0) == datetime(2024, 1, 2, 12, 0, tzinfo=UTC)
    assert window_end(now, rules.step, rules.step) == datetime(2024, 1, 2, 11, 55, tzinfo=UTC)


def test_service_runs_its_jobs_on_the_scheduler_and_stops() -> None:
    rules = load_rules()
    clock = lambda: datetime(2024, 1, 2, 12, 0, tzinfo=UTC)  # noqa: E731
    notifier = Notifier(NotifierConfig.of(AlertSettings()), MemoryOutbox(), httpx.Client(), clock)
    state = MemoryStateStore()
    evaluator = Evaluator(
        rules, MemorySource([], rules.step), state, MemoryHistory(), notifier, AlwaysLease(), clock, LAG
    )
    service = AlertService(evaluator, notifier, AlertSettings(evaluate_every=3600, deliver_every=3600))
    assert state.last_end is None
    service.start()
    try:
        assert service.running and service._scheduler is not None
        assert {job.id for job in service._scheduler.get_jobs()} == {"alerts-evaluate", "alerts-deliver"}
        # nothing here calls the evaluator: only the scheduler's first run can record the judged step
        wait_for(lambda: state.last_end is not None, 10, "the scheduler to run the evaluate job")
    finally:
        service.stop()
    assert state.last_end == datetime(2024, 1, 2, 11, 55, tzinfo=UTC)
    assert service.firing() == [] and service._scheduler is None and not service.running
    assert ActiveAlert.__dataclass_fields__.keys() >= {"labels", "summary", "starts_at", "negative_share"}


def test_evaluator_judges_every_step_a_restart_missed_and_warms_up_when_new() -> None:
    rules = load_rules()
    now = [datetime(2024, 1, 2, 12, 2, 30, tzinfo=UTC)]  # with the 120 s allowed lateness: the step ending 12:00
    notifier = Notifier(NotifierConfig.of(AlertSettings()), MemoryOutbox(), httpx.Client(), lambda: now[0])
    state = MemoryStateStore()
    asked: list[tuple[datetime, datetime, timedelta]] = []

    class Recording(MemorySource):
        def counts(self, rule, start, end, step):  # type: ignore[no-untyped-def]
            asked.append((start, end, step))
            return super().counts(rule, start, end, step)

    def evaluator() -> Evaluator:
        source = Recording([], rules.step)
        return Evaluator(
            rules, source, state, MemoryHistory(), notifier, AlwaysLease(), lambda: now[0], timedelta(seconds=120)
        )

    first = evaluator()
    first.run_once()
    assert state.last_end == datetime(2024, 1, 2, 12, 0, tzinfo=UTC)
    # a fresh evaluator first learns the baselines from three days of hourly counts, then judges one step
    assert asked[0][2] == timedelta(hours=1) and asked[0][1] - asked[0][0] >= timedelta(days=3)
    assert asked[-1] == (datetime(2024, 1, 2, 11, 55, tzinfo=UTC), datetime(2024, 1, 2, 12, 0, tzinfo=UTC), rules.step)
    assert first.due(datetime(2024, 1, 2, 12, 0, tzinfo=UTC)) == []
    now[0] = datetime(2024, 1, 2, 12, 12, 30, tzinfo=UTC)  # restarted 10 minutes later: two steps to judge
    second = evaluator()
    second.load()
    asked.clear()
    second.run_once()
    assert state.last_end == datetime(2024, 1, 2, 12, 10, tzinfo=UTC)
    assert {a[:2] for a in asked} == {
        (datetime(2024, 1, 2, 12, 0, tzinfo=UTC), datetime(2024, 1, 2, 12, 10, tzinfo=UTC))
    }
    # after a long outage: the last CATCH_UP judged, the steps before it only teach the baselines
    due = second.due(datetime(2024, 1, 3, 12, 0, tzinfo=UTC))
    assert len(due) == int(CATCH_UP / rules.step) and due[-1] == datetime(2024, 1, 3, 12, 0, tzinfo=UTC)


def test_hanging_receivers_neither_stall_evaluation_nor_pile_up_skipped_jobs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Deliveries run off the scheduler's threads: with a webhook and an Alertmanager that never answer, the
    evaluate and deliver jobs keep their schedule (no "maximum number of running instances" skips), the
    evaluator runs, and nothing in flight is sent again."""
    import threading

    from webhook_receiver import start_receiver

    (hook, hook_server), (am, am_server) = start_receiver(), start_receiver("/")
    for hanging in (hook, am):
        hanging.hold, hanging.hold_for = threading.Event(), 30.0
    rules = load_rules()
    clock = lambda: datetime.now(UTC)  # noqa: E731
    settings = AlertSettings(
        webhook_urls=[hook.url], alertmanager_urls=[am.url], evaluate_every=0.2, deliver_every=0.1, request_timeout=20
    )
    notifier = Notifier(NotifierConfig.of(settings), MemoryOutbox(), httpx.Client(timeout=20), clock)
    state = MemoryStateStore()
    evaluator = Evaluator(
        rules, MemorySource([], rules.step), state, MemoryHistory(), notifier, AlwaysLease(), clock, LAG
    )
    service = AlertService(evaluator, notifier, settings)
    with caplog.at_level(logging.WARNING):
        service.start()
        try:
            notifier.enqueue([_event()])
            wait_for(lambda: len(hook.requests) == len(am.requests) == 1, 10, "both receivers to get the alert")
            evaluations = service.metrics.evaluations.labels("ok")._value.get()
            wait_for(
                lambda: service.metrics.evaluations.labels("ok")._value.get() >= evaluations + 5,
                10,
                "five more evaluations while the receivers hang",
            )
            assert service.metrics.backlog.labels("alertmanager_api")._value.get() == 1  # waiting while it hangs
        finally:
            for hanging in (hook, am):
                hanging.hold.set()  # type: ignore[union-attr]
            service.stop()
            hook_server.shutdown()
            am_server.shutdown()
    assert "maximum number of running instances" not in caplog.text
    assert len(hook.requests) == len(am.requests) == 1  # in flight: not sent again by the later runs


def _event() -> AlertEvent:
    start = datetime(2024, 1, 2, 11, 30, tzinfo=UTC)
    labels = {"alertname": "NegativeNewsSpike", "rule": "all", "scope": "all", "severity": "warning"}
    return AlertEvent("firing", labels, {"summary": "spike"}, start, None, start)


def test_the_evaluator_counts_all_news_as_the_backtest_does() -> None:
    """All news' share (what quiet scopes shrink towards) counts distinct stories when the rules count stories,
    live as in the backtest, even where the source also counts items (Elasticsearch gives both)."""
    rules = load_rules()
    assert all(rule.count == "stories" for rule in rules.rules)
    at = datetime(2024, 1, 2, 12, 1, tzinfo=UTC)
    copies = [NewsEvent(at, "markets", "negative", (), "s1") for _ in range(4)]
    events = [*copies, NewsEvent(at, "markets", "neutral", (), "s2"), NewsEvent(at, "macro", "neutral")]
    start, end = datetime(2024, 1, 2, 12, 0, tzinfo=UTC), datetime(2024, 1, 2, 12, 5, tzinfo=UTC)
    notifier = Notifier(NotifierConfig.of(AlertSettings()), MemoryOutbox(), httpx.Client(), lambda: end)
    for source in (MemorySource(events, rules.step), MemorySource(events, rules.step, stories=True)):
        evaluator = Evaluator(
            rules, source, MemoryStateStore(), MemoryHistory(), notifier, AlwaysLease(), lambda: end, LAG
        )
        ((moment, _, parent),) = evaluator._observe(start, end)
        assert (moment, parent) == (end, (1, 3))  # one negative story of three, not four copies of six news


@pytest.mark.parametrize("count", ["stories", "items"])
@pytest.mark.parametrize("all_first", [True, False])
def test_all_news_is_counted_once_per_evaluation_and_judged_on_the_same_figures(count: str, all_first: bool) -> None:
    """The all-news rule's counts are all news' counts: one query, not the same aggregation twice."""
    both = [{"name": "all-news", "count": count}, {"name": "topic", "scope": {"kind": "topic"}, "count": count}]
    rules = parse_rules({"rules": both if all_first else both[::-1]})
    start, end = datetime(2024, 1, 2, 12, 0, tzinfo=UTC), datetime(2024, 1, 2, 12, 30, tzinfo=UTC)
    events = [
        NewsEvent(start + timedelta(minutes=m), topic, "negative" if m % 3 == 0 else "neutral", (), f"s{m // 2}")
        for m in range(30)
        for topic in ("markets", "macro")
    ]
    source = CountingSource(MemorySource(events, rules.step, stories=count == "stories"))
    notifier = Notifier(NotifierConfig.of(AlertSettings()), MemoryOutbox(), httpx.Client(), lambda: end)
    evaluator = Evaluator(rules, source, MemoryStateStore(), MemoryHistory(), notifier, AlwaysLease(), lambda: end, LAG)
    observed = evaluator._observe(start, end)
    assert source.calls == [("parent", count == "stories"), ("counts", "topic")]  # was parent, all-news, topic
    assert [obs for _, obs, _ in observed] == observations_by_counts(source.source, rules, start, end, rules.step)
    assert sum(len(obs) for _, obs, _ in observed) == 6 * 3  # every step: all news and the two topics
