from datetime import UTC, datetime, timedelta

from monitor.app.live_stats import RateMeter, ReplayClock, Settled


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_replay_clock_follows_what_was_sent_lag_seconds_ago() -> None:
    start = datetime(2026, 11, 20, 7, tzinfo=UTC)
    tick = FakeMonotonic()
    clock = ReplayClock(start, lag=3.0, monotonic=tick)
    assert clock() == start
    clock.sent(start + timedelta(minutes=5))
    tick.now += 1
    clock.sent(start + timedelta(minutes=20))
    assert clock() == start  # nothing sent 3 s ago yet
    tick.now += 2
    assert clock() == start + timedelta(minutes=5)
    tick.now += 1
    assert clock() == start + timedelta(minutes=20)
    tick.now += 60
    assert clock() == start + timedelta(minutes=20)  # the replay ended: time stands still


def test_replay_clock_never_goes_back() -> None:
    start = datetime(2026, 11, 20, 7, tzinfo=UTC)
    tick = FakeMonotonic()
    clock = ReplayClock(start, lag=0.0, monotonic=tick)
    clock.sent(start + timedelta(hours=2))
    clock.sent(start + timedelta(hours=1))  # an out-of-order record
    assert clock() == start + timedelta(hours=2)


def test_replay_clock_waits_for_a_slow_index() -> None:
    start = datetime(2026, 11, 20, 7, tzinfo=UTC)
    tick = FakeMonotonic()
    clock = ReplayClock(start, lag=0.0, monotonic=tick)
    for minutes in (5, 10, 15):
        clock.sent(start + timedelta(minutes=minutes))
    assert clock() == start + timedelta(minutes=15)
    clock.indexed(0)
    assert clock() == start  # all sent, nothing indexed: the worker is still starting
    clock.indexed(0)
    assert clock() == start
    clock.indexed(2)
    assert clock() == start + timedelta(minutes=10)
    clock.indexed(3)
    assert clock() == start + timedelta(minutes=15)
    clock.indexed(500)  # an index holding older documents sets no cap
    assert clock() == start + timedelta(minutes=15)


def test_settled_once_the_condition_held_for_the_quiet_period() -> None:
    settled = Settled(quiet=5.0)
    assert not settled.push(0.0, holds=False)
    assert not settled.push(1.0, holds=True)
    assert not settled.push(5.0, holds=True)
    assert not settled.push(5.5, holds=False)  # e.g. more records sent: the quiet period starts again
    assert not settled.push(6.0, holds=True)
    assert settled.push(11.0, holds=True)


def test_rate_meter_over_its_window() -> None:
    meter = RateMeter(window=10.0)
    assert meter.push(0.0, 0) == 0.0
    assert meter.push(5.0, 50) == 10.0
    assert meter.push(20.0, 250) == 200 / 15
