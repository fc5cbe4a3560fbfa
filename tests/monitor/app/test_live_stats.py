from monitor.app.live_stats import RateMeter, Settled


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
