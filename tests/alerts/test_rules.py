from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from alerts.rules import RulesError, load_rules, parse_duration, parse_rules


def test_shipped_defaults_load_with_all_scopes() -> None:
    rules = load_rules()
    assert rules.step == timedelta(minutes=5)
    assert [r.scope.kind for r in rules.rules] == ["all", "topic", "ticker"]
    ticker = rules.rules[2]
    assert ticker.scope.limit == 50
    assert (ticker.false_alarms_per_week, ticker.min_lift) == (0.1, 1.3) and len(ticker.lifts) == 5
    assert ticker.baseline.half_life == timedelta(days=3) and ticker.count == "stories"
    assert ticker.bursts == (4.0, 8.0, 16.0) and all(rule.count == "stories" for rule in rules.rules)
    assert ticker.evidence.headlines == 5


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("24h", 86400), ("1.5h", 5400), ("90s", 90), ("1d", 86400), (45, 45)]
)
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"false_alarms_per_week": 0}, "rules[0].false_alarms_per_week"),
        ({"min_lift": 1.0}, "rules[0].min_lift"),
        ({"lifts": [0.5]}, "rules[0]"),
        ({"bursts": [1.0]}, "rules[0]"),
        ({"bursts": [4, 4]}, "rules[0]"),
        ({"bursts": ["nan"]}, "rules[0]"),
        ({"bursts": "many"}, "rules[0].bursts"),
        ({"count": "words"}, "rules[0].count"),
        ({"baseline": {"half_life": "soon"}}, "rules[0].baseline.half_life"),
        ({"scope": {"kind": "sector"}}, "rules[0].scope.kind"),
        ({"thresold": 3}, "rules[0].thresold"),
        ({"evidence": {"headlines": -1}}, "rules[0].evidence.headlines"),
    ],
)
def test_bad_rules_fail_at_load_naming_the_field(rule: dict[str, object], field: str) -> None:
    with pytest.raises(RulesError) as err:
        parse_rules({"rules": [{"name": "r", **rule}]})
    assert field in str(err.value)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"min_volume": 40}, "rules[0].min_volume: no longer supported"),
        ({"window": "30m"}, "rules[0].window: no longer supported"),
        ({"test": {"max_p_value": 0.001}}, "rules[0].test: no longer supported: use min_lift"),
        ({"fire": {"n": 2, "m": 3}}, "rules[0].fire: no longer supported"),
        ({"resolve": {"clear_windows": 3}}, "rules[0].resolve: no longer supported"),
        ({"baseline": {"kind": "median"}}, "rules[0].baseline.kind: no longer supported"),
        ({"baseline": {"length": "24h"}}, "rules[0].baseline.length: no longer supported: use half_life"),
    ],
)
def test_old_rule_files_fail_at_load_naming_the_field_and_its_replacement(
    rule: dict[str, object], message: str
) -> None:
    with pytest.raises(RulesError) as err:
        parse_rules({"rules": [{"name": "r", **rule}]})
    assert message in str(err.value)


@pytest.mark.parametrize("label", ["alertname", "rule", "scope", "topic", "ticker", "severity"])
def test_a_rule_label_that_would_replace_an_identifying_label_fails_at_load_naming_it(
    tmp_path: Path, label: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(f"rules:\n  - name: r\n    labels: {{team: news, {label}: other}}\n")
    with pytest.raises(RulesError) as err:
        load_rules(path)
    assert f"rules[0].labels.{label}: reserved (finmon sets alertname, rule, scope, topic, ticker, severity)" in str(
        err.value
    )
    assert parse_rules({"rules": [{"name": "r", "labels": {"team": "news"}}]}).rules[0].labels == {"team": "news"}


def test_duplicate_names_and_empty_rules_are_refused() -> None:
    with pytest.raises(RulesError, match="unique"):
        parse_rules({"rules": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(RulesError, match="rules"):
        parse_rules({"rules": []})


def test_user_file_overrides_defaults_in_yaml_and_toml(tmp_path: Path) -> None:
    yaml_file = tmp_path / "rules.yaml"
    yaml_file.write_text("step: 10m\nrules:\n  - name: mine\n    scope: {kind: topic, limit: 3}\n    min_lift: 2\n")
    rules = load_rules(yaml_file)
    assert rules.step == timedelta(minutes=10)
    assert rules.rules[0].scope.limit == 3 and rules.rules[0].min_lift == 2 and rules.rules[0].resolve_odds == 100
    toml_file = tmp_path / "rules.toml"
    toml_file.write_text('step = "5m"\n[[rules]]\nname = "t"\ncount = "stories"\n[rules.baseline]\nhalf_life = "1d"\n')
    toml = load_rules(toml_file).rules[0]
    assert toml.count == "stories" and toml.baseline.half_life == timedelta(days=1)


def test_unreadable_or_malformed_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [unclosed")
    with pytest.raises(RulesError, match="not valid YAML"):
        load_rules(bad)
