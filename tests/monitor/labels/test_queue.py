"""The review queue's order: least certain first, one per story, spread over topics and tickers, labelled
news left out, documents without labels ignored."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.labels.queue import Candidate, candidate, pick_queue


def doc(
    title: str, probs: tuple[float, float, float], topic: str = "Markets", confidence: float = 0.9, **extra: Any
) -> dict[str, Any]:
    negative, neutral, positive = probs
    return {
        "title": title,
        "sentiment": "neutral",
        "sentiment_probs": {"negative": negative, "neutral": neutral, "positive": positive},
        "topic": topic,
        "topic_confidence": confidence,
        **extra,
    }


def made(news_id: str, source: dict[str, Any]) -> Candidate:
    item = candidate(news_id, source)
    assert item is not None
    return item


def test_certainty_is_the_weaker_head() -> None:
    assert made("a", doc("x", (0.1, 0.5, 0.4))).certainty == pytest.approx(0.1)  # sentiment margin
    assert made("b", doc("x", (0.0, 1.0, 0.0), confidence=0.3)).certainty == pytest.approx(0.3)  # topic
    assert made("c", doc("x", (0.0, 1.0, 0.0), confidence=None)).certainty == pytest.approx(1.0)


def test_least_certain_first_and_labelled_left_out() -> None:
    items = [
        made("sure", doc("Sure thing", (0.0, 0.05, 0.95))),
        made("coin", doc("Coin toss", (0.45, 0.1, 0.44), topic="Earnings")),
        made("unsure", doc("Unsure", (0.2, 0.5, 0.3), topic="Macro")),
        made("done", doc("Already labelled", (0.4, 0.2, 0.4), topic="IPO")),
    ]
    assert [c.id for c in pick_queue(items, {"done"}, 10)] == ["coin", "unsure", "sure"]
    assert [c.id for c in pick_queue(items, set(), 1)] == ["done"]


def test_one_per_story_the_least_certain_of_it() -> None:
    items = [
        made("a1", doc("Acme recalls 2 million cars", (0.3, 0.4, 0.3), story_id="s1")),
        made("a2", doc("ACME recalls 2,000,000 cars!", (0.3, 0.32, 0.38), story_id="s1")),
        made("b1", doc("Acme recalls 2 million cars", (0.2, 0.5, 0.3))),
        made("b2", doc("ACME recalls 3 million cars", (0.45, 0.45, 0.1))),  # same title but for digits
    ]
    assert [c.id for c in pick_queue(items, set(), 10)] == ["b2", "a2"]


WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")


def test_spread_over_topics_and_tickers() -> None:
    burst = [made(f"m{n}", doc(f"Macro item {WORDS[n]}", (0.3, 0.4, 0.3), topic="Macro")) for n in range(6)]
    ticker = [
        made(f"t{n}", doc(f"Ticker item {WORDS[n]}", (0.3, 0.4, 0.3), topic=f"T{n}", tickers=["ACME"]))
        for n in range(6)
    ]
    other = [made(f"o{n}", doc(f"Other item {WORDS[n]}", (0.25, 0.45, 0.3), topic=f"O{n}")) for n in range(3)]
    queue = pick_queue(burst + ticker + other, set(), 6)
    assert sum(c.topic == "Macro" for c in queue) <= 2
    assert sum("ACME" in c.tickers for c in queue) <= 2
    assert {c.id for c in other} <= {c.id for c in queue}


@pytest.mark.parametrize(
    "source",
    [
        {"title": "", "sentiment_probs": {"negative": 0.3}},
        {"title": "No probabilities"},
        {"title": "Bad numbers", "sentiment_probs": {"negative": "lots"}},
        {"title": "Bad confidence", "sentiment_probs": {}, "topic_confidence": [1]},
    ],
)
def test_documents_without_usable_labels_are_skipped(source: dict[str, Any]) -> None:
    assert candidate("x", source) is None


def naive_greedy(items: list[Candidate], size: int) -> list[str]:
    """The definition: each step takes the item of least (certainty + penalties, id)."""
    from collections import Counter

    from monitor.labels.queue import _cost

    remaining, topics, tickers, order = list(items), Counter(), Counter(), []  # type: ignore[var-annotated]
    while remaining and len(order) < size:
        best = min(remaining, key=lambda c: (_cost(c, topics, tickers), c.id))
        remaining.remove(best)
        order.append(best.id)
        topics[best.topic] += 1
        tickers.update(best.tickers)
    return order


def test_the_lazy_heap_takes_the_greedy_order() -> None:
    import random

    chance = random.Random(7)
    items = []
    for n in range(300):
        weights = [chance.random() for _ in range(3)]
        negative, neutral, positive = (w / sum(weights) for w in weights)
        title = "story " + "".join(chance.choices("abcdefghij", k=12))
        source = doc(title, (negative, neutral, positive), chance.choice("ABCDE"), chance.random())
        items.append(made(f"i{n:03}", {**source, "tickers": [chance.choice("XYZW")]}))
    assert [c.id for c in pick_queue(items, set(), 120)] == naive_greedy(items, 120)
