"""Fixtures of the alerts tests: a real webhook receiver on loopback and a clock that tests advance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from webhook_receiver import Receiver, start_receiver

from tests.support.alerts_doubles import ManualClock


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver, server = start_receiver()
    yield receiver
    if receiver.hold is not None:
        receiver.hold.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def clock(receiver: Receiver) -> ManualClock:
    """A manual clock starting at 2024-01-02 12:00 UTC; the receiver checks signatures against it."""
    receiver.clock = ManualClock(datetime(2024, 1, 2, 12, 0, tzinfo=UTC))
    return receiver.clock
