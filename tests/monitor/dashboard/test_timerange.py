from datetime import UTC, datetime, timedelta

import pytest

from monitor.dashboard.timerange import RANGES, UnknownRange, window

NOW = datetime(2026, 11, 20, 21, 5, 30, 123456, tzinfo=UTC)


def test_each_range_ends_now_with_its_interval() -> None:
    assert set(RANGES) == {"1h", "24h", "7d"}
    day = window("24h", NOW)
    assert (day.start, day.end, day.interval) == (NOW - timedelta(hours=24), NOW, "1h")
    assert day.bounds == ("2026-11-19T21:05:30Z", "2026-11-20T21:05:30Z")
    assert window("1h", NOW).interval == "5m" and window("7d", NOW).start == NOW - timedelta(days=7)


def test_an_unknown_range_is_refused_with_the_choices() -> None:
    with pytest.raises(UnknownRange, match="1h, 24h, 7d"):
        window("2d", NOW)
