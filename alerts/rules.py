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
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

DEFAULT_RULES_FILE = "default_rules.yaml"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RulesError(ValueError):
    """The rules are invalid; the message names each bad field (e.g. `rules[1].test.max_p_value`)."""


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
    """The negative share a window is compared with, from the period just before the window.

    `median` (default): the median of the shares of each `bucket` (e.g. hour), robust to earlier bursts of
    neutral news and earlier spikes; `trailing`: negatives / news over the period; `ewma`: the same with
    weights halving every `half_life` of age.
    """

    kind: Literal["median", "trailing", "ewma"] = "median"
    length: Duration = timedelta(hours=24)
    bucket: Duration = Field(
        default=timedelta(hours=1), description="median only: the sub-periods whose shares are taken"
    )
    min_bucket_volume: int = Field(default=20, ge=1, description="median only: sub-periods with fewer news are skipped")
    half_life: Duration = Field(default=timedelta(hours=6), description="ewma only: weight halves with this age")
    min_volume: int = Field(default=200, ge=1, description="news needed in the baseline period to judge at all")

    @model_validator(mode="after")
    def _positive(self) -> Baseline:
        if min(self.length, self.half_life, self.bucket) <= timedelta(0):
            raise ValueError("length, bucket and half_life must be positive")
        return self


class Test(_Strict):
    """The statistical test of a window's negative count against the baseline share."""

    kind: Literal["binomial", "poisson"] = "binomial"
    max_p_value: float = Field(default=0.001, gt=0, lt=1)
    min_lift: float = Field(default=1.5, ge=1.0, description="window share / baseline share needed")


class Fire(_Strict):
    """Fire when `n` of the last `m` evaluations breach, or at once on a breach with overwhelming evidence."""

    n: int = Field(default=2, ge=1)
    m: int = Field(default=3, ge=1, le=100)
    immediate_p_value: float | None = Field(
        default=3e-5,
        gt=0,
        lt=1,
        description="a breach with a p-value under this fires without waiting for n of m; null: never",
    )

    @model_validator(mode="after")
    def _n_of_m(self) -> Fire:
        if self.n > self.m:
            raise ValueError(f"n ({self.n}) must not exceed m ({self.m})")
        return self


class Resolve(_Strict):
    """Resolved after `clear_windows` evaluations in a row where the window is no longer elevated."""

    clear_windows: int = Field(default=3, ge=1)
    max_p_value: float = Field(default=0.05, gt=0, lt=1)
    min_lift: float = Field(default=1.2, ge=1.0)


class Rule(_Strict):
    """One alert rule; its name becomes the `rule` label of its alerts."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    scope: Scope = Field(default_factory=Scope)
    window: Duration = timedelta(minutes=30)
    baseline: Baseline = Field(default_factory=Baseline)
    min_volume: int = Field(default=40, ge=1)
    test: Test = Field(default_factory=Test)
    fire: Fire = Field(default_factory=Fire)
    repeat_interval: Duration = timedelta(hours=4)
    resolve: Resolve = Field(default_factory=Resolve)
    severity: str = Field(default="warning", min_length=1)
    labels: dict[str, str] = Field(default_factory=dict, description="extra labels on every alert of the rule")

    @model_validator(mode="after")
    def _resolve_looser_than_fire(self) -> Rule:
        if self.resolve.max_p_value < self.test.max_p_value or self.resolve.min_lift > self.test.min_lift:
            raise ValueError("resolve must be looser than test (max_p_value >=, min_lift <=), or alerts flap")
        if self.repeat_interval <= timedelta(0):
            raise ValueError("repeat_interval must be positive")
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
        for i, rule in enumerate(self.rules):
            spans = (
                ("window", rule.window),
                ("baseline.length", rule.baseline.length),
                ("baseline.bucket", rule.baseline.bucket),
            )
            for field, span in spans:
                if span < self.step or span.total_seconds() % self.step.total_seconds():
                    raise ValueError(f"rules[{i}].{field} must be a whole multiple of step ({self.step})")
            if rule.baseline.length.total_seconds() % rule.baseline.bucket.total_seconds():
                raise ValueError(f"rules[{i}].baseline.length must be a whole multiple of baseline.bucket")
        return self

    def buckets(self, span: timedelta) -> int:
        """How many steps make up `span` (a window or a baseline length)."""
        return int(span.total_seconds() // self.step.total_seconds())


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def parse_rules(data: Any, source: str = "rules") -> Rules:
    """Validate a mapping; every problem is reported with its field path."""
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        lines = [": ".join(filter(None, (_field_path(err["loc"]), err["msg"]))) for err in exc.errors()]
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
