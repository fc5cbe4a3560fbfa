from datetime import UTC, datetime, timedelta

from monitor.stats import RateMeter, ReplayClock


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


def test_rate_meter_over_its_window() -> None:
    meter = RateMeter(window=10.0)
    assert meter.push(0.0, 0) == 0.0
    assert meter.push(5.0, 50) == 10.0
    assert meter.push(20.0, 250) == 200 / 15
