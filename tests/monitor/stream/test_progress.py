"""The /healthz verdict of a stream worker, with a clock the test advances (pure)."""

from __future__ import annotations

from monitor.stream.progress import Progress
from tests.helpers import FakeClock


def test_healthy_while_batches_finish_and_when_idle_without_lag() -> None:
    clock = FakeClock(1000.0)
    progress = Progress(stall_timeout=60, clock=clock)
    progress.started()
    clock.now += 30
    progress.finished()
    clock.now += 3600  # idle for an hour with nothing to read
    assert progress.healthy()


def test_a_batch_in_progress_past_the_stall_timeout_is_unhealthy() -> None:
    clock = FakeClock(1000.0)
    progress = Progress(stall_timeout=60, clock=clock)
    progress.started()
    clock.now += 61
    assert progress.problem() == "a batch has been in progress for 61 s"
    progress.finished()
    assert progress.healthy()


def test_lag_without_a_batch_starting_is_unhealthy() -> None:
    clock = FakeClock(1000.0)
    progress = Progress(stall_timeout=60, clock=clock)
    progress.observe_lag(500)
    clock.now += 30
    assert progress.healthy()
    clock.now += 31
    assert progress.problem() == "500 messages waiting and no batch for 61 s"
    progress.started()
    assert progress.healthy()


def test_a_failure_is_unhealthy_for_good() -> None:
    progress = Progress(stall_timeout=60, clock=FakeClock(1000.0))
    progress.failed(RuntimeError("boom"))
    assert progress.problem() == "failed: RuntimeError"
