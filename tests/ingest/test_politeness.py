"""Per-host rate limiting with an injected clock (no sleeping)."""

from __future__ import annotations

import pytest

from monitor.ingest.politeness import HostRateLimiter, host_of
from tests.helpers import FakeClock


def test_requests_to_one_host_are_spaced_by_the_interval() -> None:
    clock = FakeClock(100.0)
    limiter = HostRateLimiter(2.0, clock)
    assert [limiter.reserve("a.test") for _ in range(3)] == [0.0, 2.0, 4.0]


def test_hosts_are_limited_independently() -> None:
    limiter = HostRateLimiter(2.0, FakeClock(100.0))
    assert limiter.reserve("a.test") == 0.0
    assert limiter.reserve("b.test") == 0.0
    assert limiter.reserve("a.test") == 2.0


def test_a_host_is_free_again_once_the_interval_has_passed() -> None:
    clock = FakeClock(100.0)
    limiter = HostRateLimiter(2.0, clock)
    limiter.reserve("a.test")
    clock.now += 1.5
    assert limiter.reserve("a.test") == pytest.approx(0.5)
    clock.now += 10
    assert limiter.reserve("a.test") == 0.0


def test_zero_interval_never_waits() -> None:
    limiter = HostRateLimiter(0.0, FakeClock(100.0))
    assert {limiter.reserve("a.test") for _ in range(5)} == {0.0}


def test_the_table_forgets_idle_hosts() -> None:
    clock = FakeClock(100.0)
    limiter = HostRateLimiter(1.0, clock)
    for i in range(1100):
        limiter.reserve(f"h{i}.test")
    clock.now += 5
    limiter.reserve("fresh.test")
    assert len(limiter._next_slot) == 1


def test_host_of_ignores_port_and_case() -> None:
    assert host_of("https://WWW.Example.TEST:8443/feed.xml") == "www.example.test"
