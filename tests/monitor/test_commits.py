"""The ack rule: offsets commit only up to the first batch not done (pure)."""

from __future__ import annotations

from monitor.commits import CommitQueue


def test_a_batch_done_early_waits_for_the_batches_before_it() -> None:
    queue: CommitQueue[int] = CommitQueue()
    first, second, third = queue.take({0: 10, 1: 5}), queue.take({0: 20}), queue.take({1: 9})
    queue.finish(third)
    queue.finish(second)
    assert queue.to_commit([0, 1]) == {}
    queue.finish(first)
    assert queue.to_commit([0, 1]) == {0: 20, 1: 9}


def test_a_batch_that_never_finishes_holds_back_everything_after_it() -> None:
    queue: CommitQueue[int] = CommitQueue()
    done = queue.take({0: 4})
    queue.take({0: 8})  # failed: never finished
    later = queue.take({0: 12})
    queue.finish(done)
    queue.finish(later)
    assert queue.to_commit([0]) == {0: 4}


def test_only_assigned_partitions_and_new_offsets_are_committed() -> None:
    queue: CommitQueue[str] = CommitQueue()
    queue.finish(queue.take({"a": 3, "b": 7}))
    assert queue.to_commit(["a"]) == {"a": 3}
    queue.acknowledged({"a": 3})
    assert queue.to_commit(["a", "b"]) == {"b": 7}
    queue.forget(["b"])
    assert queue.to_commit(["a", "b"]) == {}
