"""What an alert watches: all news, a topic or a ticker, and the news field each kind of scope filters on.

Pure: the one map from a scope kind to its field, shared by the Elasticsearch source and the evidence links.
"""

from __future__ import annotations

from typing import NamedTuple

FIELDS = {"topic": "topic", "ticker": "tickers"}  # the news field a scope kind filters on ("all": none)


class ScopeKey(NamedTuple):
    """A watched scope: ("all", ""), ("topic", "earnings"), ("ticker", "AAPL"); ordered and hashed as a tuple."""

    kind: str
    value: str = ""

    @property
    def field(self) -> str | None:
        """The news field that holds the value (None for all news)."""
        return FIELDS.get(self.kind)

    def describe(self) -> str:
        """`all news`, `topic earnings`: the scope as alert texts name it."""
        return "all news" if self.kind == "all" else f"{self.kind} {self.value}"


ALL = ScopeKey("all", "")


def scope_of(labels: dict[str, str]) -> ScopeKey:
    """The scope an alert's labels name: only for detector state saved without its scope (older snapshots)."""
    kind = labels["scope"]
    return ScopeKey(kind, labels.get(kind, "") if kind != "all" else "")
