"""Alert rules: typed, validated at load, read from the shipped default file or a user's YAML/TOML file.

Pure: parsing a mapping imports no I/O library; `load_rules` only reads the one file it is given.
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from alerts.scopes import FIELDS

DEFAULT_RULES_FILE = "default_rules.yaml"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Fields of the fixed-window rules (finmon before issue 10): a rule file using them fails at load, naming them.
_RETIRED = {
    "window": "the detector judges every step; evidence accumulates over as long as a surge lasts",
    "min_volume": "quiet scopes are judged on their own stream; set false_alarms_per_week and min_lift",
    "test": "use min_lift (test.min_lift) and false_alarms_per_week (replaces test.max_p_value)",
    "fire": "firing follows from false_alarms_per_week; there is no n of m",
    "resolve": "an alert resolves on evidence that the share is back to normal (resolve_odds)",
}
# The labels finmon sets on every alert (alerts/detector.py): they identify it, so a rule's own labels may not
# replace them (the scope's kind names the label holding its value: topic, ticker).
RESERVED_LABELS = ("alertname", "rule", "scope", *FIELDS, "severity")
_RETIRED_BASELINE = {
    "kind": "the baseline is an exponentially weighted share; set half_life",
    "length": "use half_life",
    "bucket": "the baseline has no buckets; use half_life",
    "min_bucket_volume": "use prior_weight and min_history",
    "min_volume": "use prior_weight and min_history",
}


class RulesError(ValueError):
    """The rules are invalid; the message names each bad field (e.g. `rules[1].min_lift`)."""


def parse_duration(value: Any) -> timedelta:
    """`30m`, `24h`, `1.5h`, `90s`, `1d`, a number of seconds or a timedelta → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration like 30m, 24h, 90s or 1d")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(_Strict):
    """Which news a rule watches: all of it, each topic, or each of the `limit` most active tickers."""

    kind: Literal["all", "topic", "ticker"] = "all"
    limit: int = Field(default=10, ge=1, le=1000, description="topics / most active tickers evaluated, at most")


class Baseline(_Strict):
    """The share a scope's news is compared with: its own negative share, weighted by age (halving every
    `half_life`), shrunk towards the parent share (all news) with the weight of `prior_weight` news."""

    half_life: Duration = Field(default=timedelta(days=3), description="weight of past news halves with this age")
    prior_weight: float = Field(default=100.0, ge=0, description="news the parent share counts as, in the mix")
    min_history: Duration = Field(default=timedelta(days=1), description="a scope seen for less is not judged")
    uncertainty: float = Field(
        default=1.0, ge=0, description="standard errors added to a thin baseline (conservative where history is short)"
    )

    @model_validator(mode="after")
    def _positive(self) -> Baseline:
        if self.half_life <= timedelta(0):
            raise ValueError("half_life must be positive")
        return self


class Evidence(_Strict):
    """What a firing alert carries: the most negative headlines of the episode."""

    headlines: int = Field(default=5, ge=0, le=50, description="top negative headlines in the alert")


class Rule(_Strict):
    """One alert rule; its name becomes the `rule` label of its alerts."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    scope: Scope = Field(default_factory=Scope)
    false_alarms_per_week: float = Field(
        default=0.1, gt=0, le=100, description="false alerts per scope per week the threshold is set for"
    )
    min_lift: float = Field(default=1.3, gt=1.0, le=20, description="share / baseline share worth an alert")
    lifts: tuple[float, ...] = Field(
        default=(1.0, 1.4, 2.0, 3.0, 4.5),
        min_length=1,
        max_length=6,
        description="the surges watched, as multiples of min_lift (one CUSUM each)",
    )
    bursts: tuple[float, ...] = Field(
        default=(4.0, 8.0, 16.0),
        max_length=6,
        description=(
            "the bursts watched, as multiples of the scope's usual negatives per step (one Poisson CUSUM each, "
            "firing only while the share is raised by min_lift too); empty: the share alone"
        ),
    )
    count: Literal["items", "stories"] = Field(
        default="stories", description="stories: a story syndicated by many outlets (same story_id) counts once"
    )
    baseline: Baseline = Field(default_factory=Baseline)
    resolve_odds: float = Field(
        default=100.0, gt=1, description="resolved when the news favour 'back to normal' by these odds"
    )
    repeat_interval: Duration = timedelta(hours=4)
    evidence: Evidence = Field(default_factory=Evidence)
    severity: str = Field(default="warning", min_length=1)
    labels: dict[str, str] = Field(default_factory=dict, description="extra labels on every alert of the rule")

    @model_validator(mode="before")
    @classmethod
    def _retired(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, hint in _RETIRED.items():
                if key in data:
                    raise ValueError(f"{key}: no longer supported: {hint}")
            base = data.get("baseline")
            for key, hint in _RETIRED_BASELINE.items():
                if isinstance(base, dict) and key in base:
                    raise ValueError(f"baseline.{key}: no longer supported: {hint}")
        return data

    @field_validator("labels")
    @classmethod
    def _own_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        for key in labels:
            if key in RESERVED_LABELS:
                raise ValueError(f"{key}: reserved (finmon sets {', '.join(RESERVED_LABELS)})")
        return labels

    @model_validator(mode="after")
    def _valid(self) -> Rule:
        if self.repeat_interval <= timedelta(0):
            raise ValueError("repeat_interval must be positive")
        if any(lift < 1.0 for lift in self.lifts) or len(set(self.lifts)) != len(self.lifts):
            raise ValueError("lifts must be distinct multiples of min_lift, each at least 1")
        if any(not 1.0 < lift <= 1000.0 for lift in self.bursts) or len(set(self.bursts)) != len(self.bursts):
            raise ValueError("bursts must be distinct multiples of the usual negatives, each above 1 and at most 1000")
        return self


class Rules(_Strict):
    """All rules and the evaluation step they share."""

    step: Duration = timedelta(minutes=5)
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Rules:
        if self.step < timedelta(seconds=1) or self.step.total_seconds() % 1:
            raise ValueError("step must be a whole number of seconds, at least 1s")
        names = [rule.name for rule in self.rules]
        if len(set(names)) != len(names):
            raise ValueError(f"rule names must be unique: {names}")
        return self

    def buckets(self, span: timedelta) -> int:
        """How many steps make up `span`."""
        return int(span.total_seconds() // self.step.total_seconds())


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    path = _field_path(err["loc"])
    named = {*_RETIRED, *(f"baseline.{k}" for k in _RETIRED_BASELINE)}
    if err["loc"] and err["loc"][-1] == "labels":
        named = set(RESERVED_LABELS)
    if msg.split(":")[0] in named:
        return f"{path}.{msg}" if path else msg
    return ": ".join(filter(None, (path, msg)))


def parse_rules(data: Any, source: str = "rules") -> Rules:
    """Validate a mapping; every problem is reported with its field path."""
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        lines = [_message(err) for err in exc.errors()]
        raise RulesError(f"invalid alert rules in {source}:\n  " + "\n  ".join(lines)) from None


def _read_mapping(text: str, name: str) -> Any:
    try:
        if name.endswith(".toml"):
            return tomllib.loads(text)
        return yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise RulesError(f"{name}: not valid {'TOML' if name.endswith('.toml') else 'YAML'}: {exc}") from None


def default_rules_text() -> str:
    return Path(__file__).with_name(DEFAULT_RULES_FILE).read_text(encoding="utf-8")


def load_rules(path: Path | None = None) -> Rules:
    """The rules in `path` (YAML, or TOML when it ends in .toml), or the shipped defaults when None."""
    if path is None:
        return parse_rules(_read_mapping(default_rules_text(), DEFAULT_RULES_FILE), DEFAULT_RULES_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read rules: {exc.strerror}") from None
    return parse_rules(_read_mapping(text, path.name), str(path))
