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
    assert ticker.scope.limit == 10
    assert ticker.window == timedelta(minutes=30)
    assert (ticker.fire.n, ticker.fire.m) == (2, 3)
    assert ticker.baseline.length == timedelta(hours=24)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("24h", 86400), ("1.5h", 5400), ("90s", 90), ("1d", 86400), (45, 45)]
)
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"test": {"max_p_value": 2}}, "rules[0].test.max_p_value"),
        ({"fire": {"n": 4, "m": 3}}, "rules[0].fire"),
        ({"fire": {"immediate_p_value": 0}}, "rules[0].fire.immediate_p_value"),
        ({"window": "7m"}, "rules[0].window"),
        ({"window": "soon"}, "rules[0].window"),
        ({"scope": {"kind": "sector"}}, "rules[0].scope.kind"),
        ({"min_volume": 0}, "rules[0].min_volume"),
        ({"thresold": 3}, "rules[0].thresold"),
        ({"resolve": {"min_lift": 3.0}}, "rules[0]"),
    ],
)
def test_bad_rules_fail_at_load_naming_the_field(rule: dict[str, object], field: str) -> None:
    with pytest.raises(RulesError) as err:
        parse_rules({"rules": [{"name": "r", **rule}]})
    assert field in str(err.value)


def test_duplicate_names_and_empty_rules_are_refused() -> None:
    with pytest.raises(RulesError, match="unique"):
        parse_rules({"rules": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(RulesError, match="rules"):
        parse_rules({"rules": []})


def test_user_file_overrides_defaults_in_yaml_and_toml(tmp_path: Path) -> None:
    yaml_file = tmp_path / "rules.yaml"
    yaml_file.write_text("step: 10m\nrules:\n  - name: mine\n    scope: {kind: topic, limit: 3}\n    window: 20m\n")
    rules = load_rules(yaml_file)
    assert rules.step == timedelta(minutes=10)
    assert rules.rules[0].scope.limit == 3 and rules.rules[0].min_volume == 40
    toml_file = tmp_path / "rules.toml"
    toml_file.write_text('step = "5m"\n[[rules]]\nname = "t"\nwindow = "15m"\n[rules.test]\nmin_lift = 2.0\n')
    assert load_rules(toml_file).rules[0].test.min_lift == 2.0


def test_unreadable_or_malformed_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [unclosed")
    with pytest.raises(RulesError, match="not valid YAML"):
        load_rules(bad)
