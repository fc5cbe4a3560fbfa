from datetime import UTC, datetime, timedelta

from monitor.app.demo import ReplayClock, demo_feed, published_times


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


def test_published_times_of_the_demo_feed_are_in_utc_one_per_record() -> None:
    times = published_times(demo_feed())
    assert len(times) == sum(1 for line in demo_feed().read_text().splitlines() if line.strip())
    assert all(t.tzinfo == UTC for t in times)
