"""Mapping comparison, template and policy bodies (pure)."""

from __future__ import annotations

from monitor.store.mappings import (
    NEWS_MAPPING,
    IndexSpec,
    Lifecycle,
    conflicts,
    field_types,
    missing_fields,
    policy_body,
    template_body,
    with_meta,
)


def test_field_types_flatten_objects_and_multi_fields() -> None:
    types = field_types(NEWS_MAPPING)
    assert types["title"] == "text" and types["title.raw"] == "keyword"
    assert types["sentiment_probs.negative"] == "float" and types["scored_at"] == "date"
    assert {types[f] for f in ("topic", "sentiment", "tickers", "source", "language", "story_id")} == {"keyword"}


def test_conflicts_name_the_field_and_both_types() -> None:
    existing = {"properties": {"topic": {"type": "text"}, "sentiment_score": {"type": "float"}}}
    found = conflicts("finmon-news", existing, NEWS_MAPPING)
    assert [(c.field, c.have, c.want) for c in found] == [("topic", "text", "keyword")]
    assert "`topic`" in str(found[0]) and "finmon-news" in str(found[0])


def test_missing_fields_are_the_wanted_ones_the_index_lacks() -> None:
    existing = {"properties": {k: v for k, v in NEWS_MAPPING["properties"].items() if k != "model_version"}}
    assert missing_fields(existing, NEWS_MAPPING) == ["model_version"]
    assert missing_fields(NEWS_MAPPING, NEWS_MAPPING) == []


def test_templates_match_backing_indices_with_ilm_and_the_plain_index_without() -> None:
    news, history = IndexSpec("finmon-news", NEWS_MAPPING, rollover=True), IndexSpec("finmon-alerts", {})
    with_ilm = template_body(news, Lifecycle(), ilm=True)
    assert with_ilm["index_patterns"] == ["finmon-news-*"]
    assert with_ilm["template"]["settings"]["index.lifecycle.rollover_alias"] == "finmon-news"
    without = template_body(news, Lifecycle(), ilm=False)
    assert without["index_patterns"] == ["finmon-news", "finmon-news-*"]
    assert "index.lifecycle.name" not in without["template"]["settings"]
    # the history template must not catch finmon-alerts-outbox / -state
    assert template_body(history, Lifecycle(), ilm=True)["index_patterns"] == ["finmon-alerts"]


def test_meta_hash_changes_with_the_body_only() -> None:
    news = IndexSpec("finmon-news", NEWS_MAPPING, rollover=True)
    a, b = with_meta(template_body(news, Lifecycle(), True)), with_meta(template_body(news, Lifecycle(), True))
    c = with_meta(template_body(news, Lifecycle(replicas=0), True))
    assert a["_meta"]["hash"] == b["_meta"]["hash"] != c["_meta"]["hash"]


def test_policy_rolls_over_and_deletes_after_retention() -> None:
    policy = policy_body(Lifecycle(max_age="1d", retention="30d"))
    assert policy["phases"]["hot"]["actions"]["rollover"]["max_age"] == "1d"
    assert policy["phases"]["delete"]["min_age"] == "30d"
    assert "delete" not in policy_body(Lifecycle(retention=None))["phases"]
