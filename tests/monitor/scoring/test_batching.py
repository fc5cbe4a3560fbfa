import pytest

from monitor.scoring.batching import mean_by_owner, plan_microbatches


def test_batches_are_length_sorted_and_bounded_by_count() -> None:
    lengths = [5, 30, 7, 12, 30, 1]
    batches = plan_microbatches(lengths, max_batch=2)
    assert [len(b) for b in batches] == [2, 2, 2]
    assert sorted(i for b in batches for i in b) == list(range(6))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths, reverse=True)


def test_token_budget_splits_batches_but_never_drops_a_long_sequence() -> None:
    batches = plan_microbatches([100, 10, 10, 10], max_batch=64, max_tokens=40)
    assert batches[0] == [0]  # longer than the budget: alone
    assert all(max([100, 10, 10, 10][i] for i in b) * len(b) <= 40 for b in batches[1:])


def test_bad_batch_size_is_refused() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        plan_microbatches([1], max_batch=0)


def test_mean_by_owner_averages_windows_per_document() -> None:
    rows = [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]
    assert mean_by_owner(rows, [0, 0, 1], 2) == [[0.5, 0.5], [0.5, 0.5]]


def test_a_document_without_windows_is_an_error() -> None:
    with pytest.raises(ValueError, match="document 1"):
        mean_by_owner([[1.0]], [0], 2)
