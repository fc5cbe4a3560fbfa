"""Index mappings, template and ILM policy bodies, and mapping comparison (pure: no Elasticsearch client)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

NEWS_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "v": {"type": "integer"},
        "id": {"type": "keyword"},
        "url": {"type": "keyword", "ignore_above": 4096},
        "source": {"type": "keyword"},
        "title": {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 512}}},
        "text": {"type": "text"},
        "published_at": {"type": "date"},
        "fetched_at": {"type": "date"},
        "language": {"type": "keyword"},
        "tickers": {"type": "keyword"},
        "story_id": {"type": "keyword"},
        "is_first": {"type": "boolean"},
        "topic": {"type": "keyword"},
        "topic_confidence": {"type": "float"},
        "sentiment": {"type": "keyword"},
        "sentiment_probs": {
            "properties": {"negative": {"type": "float"}, "neutral": {"type": "float"}, "positive": {"type": "float"}}
        },
        "sentiment_score": {"type": "float"},
        "windows": {"type": "integer"},
        "model_name": {"type": "keyword"},
        "model_version": {"type": "keyword"},
        "model_hash": {"type": "keyword"},
        "scored_at": {"type": "date"},
        "event_at": {"type": "date"},
    },
}

TEMPLATE_PRIORITY = 200
MANAGED_BY = "finmon"


class SetupError(Exception):
    """Index setup cannot go on (e.g. an existing index maps a field differently); the message says which."""


@dataclass(frozen=True)
class IndexSpec:
    """One logical index: its name (the read/write alias when it rolls over) and its mapping."""

    name: str
    mapping: dict[str, Any]
    rollover: bool = False  # time-based backing indices where the server has ILM

    @property
    def first_index(self) -> str:
        return f"{self.name}-000001"


@dataclass(frozen=True)
class Conflict:
    index: str
    field: str
    have: str
    want: str

    def __str__(self) -> str:
        return f"index {self.index}: field `{self.field}` is mapped as {self.have}, finmon needs {self.want}"


def field_types(mapping: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Every leaf field of a mapping (multi-fields included, e.g. `title.raw`) with its type."""
    types: dict[str, str] = {}
    for name, spec in mapping.get("properties", {}).items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            types.update(field_types(spec, f"{path}."))
            continue
        types[path] = spec.get("type", "object")
        for sub, sub_spec in spec.get("fields", {}).items():
            types[f"{path}.{sub}"] = sub_spec.get("type", "object")
    return types


def conflicts(index: str, existing: dict[str, Any], wanted: dict[str, Any]) -> list[Conflict]:
    """Fields both mappings have with different types (ES cannot change a field's type in place)."""
    have = field_types(existing)
    return [
        Conflict(index, name, have[name], want)
        for name, want in sorted(field_types(wanted).items())
        if name in have and have[name] != want
    ]


def missing_fields(existing: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """Fields of the wanted mapping that the existing one lacks (a put-mapping adds them)."""
    have = field_types(existing)
    return sorted(name for name in field_types(wanted) if name not in have)


def content_hash(body: dict[str, Any]) -> str:
    """A short hash of a body, kept in its `_meta`: unchanged hash = nothing to update (servers normalise
    settings and mappings on the way in, so comparing bodies directly reports false changes)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Lifecycle:
    """Rollover and retention of time-based indices (see `ElasticsearchSettings`)."""

    max_age: str = "7d"
    max_primary_shard_size: str = "50gb"
    retention: str | None = "90d"
    shards: int = 1
    replicas: int | None = None


def policy_body(lifecycle: Lifecycle) -> dict[str, Any]:
    """The ILM policy: roll over in the hot phase, delete `retention` after rollover."""
    rollover = {"max_age": lifecycle.max_age, "max_primary_shard_size": lifecycle.max_primary_shard_size}
    phases: dict[str, Any] = {"hot": {"min_age": "0ms", "actions": {"rollover": rollover}}}
    if lifecycle.retention:
        phases["delete"] = {"min_age": lifecycle.retention, "actions": {"delete": {}}}
    return {"phases": phases}


def index_settings(spec: IndexSpec, lifecycle: Lifecycle, ilm: bool) -> dict[str, Any]:
    settings: dict[str, Any] = {"number_of_shards": lifecycle.shards if spec.rollover else 1}
    if lifecycle.replicas is not None:
        settings["number_of_replicas"] = lifecycle.replicas
    if ilm and spec.rollover:
        settings["index.lifecycle.name"] = spec.name
        settings["index.lifecycle.rollover_alias"] = spec.name
    return settings


def template_body(spec: IndexSpec, lifecycle: Lifecycle, ilm: bool) -> dict[str, Any]:
    """The composable index template: with ILM it matches the backing indices `<name>-*`, without it the
    plain index `<name>` (and `<name>-*`, so a later move to rollover keeps the mapping)."""
    patterns = [f"{spec.name}-*"] if ilm and spec.rollover else [spec.name, f"{spec.name}-*"]
    if not spec.rollover:
        patterns = [spec.name]
    template = {"settings": index_settings(spec, lifecycle, ilm), "mappings": spec.mapping}
    body: dict[str, Any] = {"index_patterns": patterns, "priority": TEMPLATE_PRIORITY, "template": template}
    return body


def with_meta(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "_meta": {"managed_by": MANAGED_BY, "hash": content_hash(body)}}
