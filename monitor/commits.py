"""Which offsets may commit: the ack rule of the stream worker (pure).

Batches are registered in the order they are taken and marked done in any order. Offsets may commit only
up to the first batch not done, so nothing is committed before it is indexed or dead-lettered; a batch that
never finishes (the worker failed) holds back every batch after it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)  # a topic partition


@dataclass
class Ticket(Generic[P]):
    """One batch: the next offset to commit on each partition it read."""

    offsets: dict[P, int]
    done: bool = False


@dataclass
class CommitQueue(Generic[P]):
    pending: deque[Ticket[P]] = field(default_factory=deque)
    ready: dict[P, int] = field(default_factory=dict)  # may commit
    committed: dict[P, int] = field(default_factory=dict)  # acknowledged by the broker

    def take(self, offsets: Mapping[P, int]) -> Ticket[P]:
        """Register a batch (in the order taken) by the next offset to commit on each of its partitions."""
        ticket = Ticket(dict(offsets))
        self.pending.append(ticket)
        return ticket

    def finish(self, ticket: Ticket[P]) -> None:
        """The batch is indexed or dead-lettered: its offsets join `ready` once the batches before it have."""
        ticket.done = True
        while self.pending and self.pending[0].done:
            self.ready.update(self.pending.popleft().offsets)

    def to_commit(self, assigned: Iterable[P]) -> dict[P, int]:
        """Ready offsets of the assigned partitions not committed yet."""
        owned = set(assigned)
        return {p: o for p, o in self.ready.items() if p in owned and self.committed.get(p) != o}

    def acknowledged(self, offsets: Mapping[P, int]) -> None:
        self.committed.update(offsets)

    def forget(self, partitions: Iterable[P]) -> None:
        """Partitions gone to another member: their offsets are that member's to commit now."""
        for partition in partitions:
            self.ready.pop(partition, None)
            self.committed.pop(partition, None)
