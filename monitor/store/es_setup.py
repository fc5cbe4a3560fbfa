"""`finmon setup`: the ILM policy, index templates and indices finmon writes to, created or checked.

Scored news is time-based where the server has ILM: a rollover alias (`finmon-news`) over backing indices
`finmon-news-000001`, ... that an ILM policy rolls over and deletes. Servers without ILM (the test servers,
OpenSearch) get a plain index with the same mapping, and a log line says so. Setup works on any list of
`IndexSpec`s: the app shell (`monitor.app.indices`) passes the news index's with alerts' own (plain indices,
`alerts.alert_indices`). Running setup twice reports every step `unchanged`; an existing index that maps a field
differently stops setup with a `SetupError` naming the field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from monitor.contracts import Unreachable
from monitor.stage_settings import ElasticsearchSettings
from monitor.store.mappings import (
    NEWS_MAPPING,
    IndexSpec,
    Lifecycle,
    SetupError,
    conflicts,
    content_hash,
    missing_fields,
    policy_body,
    template_body,
    with_meta,
)

log = logging.getLogger(__name__)

Outcome = Literal["created", "updated", "unchanged", "skipped"]


@dataclass(frozen=True)
class Step:
    """What setup did to one object."""

    kind: str  # "ilm policy", "index template", "index", "rollover alias"
    name: str
    outcome: Outcome
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.outcome}" + (f" ({self.detail})" if self.detail else "")


def news_index_specs(es: ElasticsearchSettings) -> list[IndexSpec]:
    """The scored-news index, time-based where the server has ILM."""
    return [IndexSpec(es.news_index, NEWS_MAPPING, rollover=True)]


def create_index(
    client: Elasticsearch, index: str, mappings: dict[str, Any], aliases: dict[str, Any] | None = None
) -> bool:
    """Create an index with its mapping; False when it already exists (a concurrent creation is fine)."""
    try:
        client.indices.create(index=index, mappings=mappings, aliases=aliases)
    except ApiError as exc:
        if "already_exists" not in str(exc):
            raise
        return False
    return True


def ensure_index(client: Elasticsearch, index: str, mappings: dict[str, Any]) -> None:
    """Create a plain index with its mapping when missing (adapters that write before `finmon setup` ran)."""
    if not client.indices.exists(index=index) and create_index(client, index, mappings):
        log.info("created index %s", index)


def lifecycle_of(es: ElasticsearchSettings) -> Lifecycle:
    return Lifecycle(
        max_age=es.rollover_max_age,
        max_primary_shard_size=es.rollover_max_primary_shard_size,
        retention=es.retention,
        shards=es.number_of_shards,
        replicas=es.number_of_replicas,
    )


def has_ilm(client: Elasticsearch) -> tuple[bool, str]:
    """Whether the server answers the ILM API (Elasticsearch does; OpenSearch and the test servers do not)."""
    try:
        client.ilm.get_lifecycle()
        return True, ""
    except ApiError as exc:
        return False, f"{exc.meta.status}: {exc.message}"


class IndexSetup:
    """Creates or checks the policy, templates and indices of `specs` on one cluster."""

    def __init__(self, client: Elasticsearch, lifecycle: Lifecycle, ilm: bool) -> None:
        self.client, self.lifecycle, self.ilm = client, lifecycle, ilm

    def run(self, specs: Sequence[IndexSpec]) -> list[Step]:
        steps: list[Step] = []
        for spec in specs:
            if spec.rollover:
                steps.append(self.policy(spec))
            steps.append(self.template(spec))
            steps.append(self.index(spec))
        return steps

    def policy(self, spec: IndexSpec) -> Step:
        if not self.ilm:
            return Step("ilm policy", spec.name, "skipped", "no ILM on this server: a plain index, no rollover")
        body = policy_body(self.lifecycle)
        digest = content_hash(body)
        try:
            current = self.client.ilm.get_lifecycle(name=spec.name)[spec.name]["policy"]
        except ApiError as exc:
            if exc.meta.status != 404:
                raise
            current = None
        if current is not None and current.get("_meta", {}).get("hash") == digest:
            return Step("ilm policy", spec.name, "unchanged")
        self.client.ilm.put_lifecycle(
            name=spec.name, policy={**body, "_meta": {"managed_by": "finmon", "hash": digest}}
        )
        return Step("ilm policy", spec.name, "created" if current is None else "updated")

    def template(self, spec: IndexSpec) -> Step:
        body = with_meta(template_body(spec, self.lifecycle, self.ilm))
        current = self._current_template(spec.name)
        if current is not None and current.get("_meta", {}).get("hash") == body["_meta"]["hash"]:
            return Step("index template", spec.name, "unchanged")
        self.client.indices.put_index_template(
            name=spec.name,
            index_patterns=body["index_patterns"],
            priority=body["priority"],
            template=body["template"],
            meta=body["_meta"],
        )
        return Step("index template", spec.name, "created" if current is None else "updated")

    def _current_template(self, name: str) -> dict[str, Any] | None:
        try:
            found = self.client.indices.get_index_template(name=name)["index_templates"]
        except ApiError as exc:
            if exc.meta.status != 404:
                raise
            return None
        return dict(found[0]["index_template"]) if found else None

    def index(self, spec: IndexSpec) -> Step:
        if self.client.indices.exists_alias(name=spec.name):
            return self._check_mapping(spec, "rollover alias")
        if self.client.indices.exists(index=spec.name):
            step = self._check_mapping(spec, "index")
            if self.ilm and spec.rollover:
                log.warning("%s is a plain index (made without ILM): it will not roll over", spec.name)
            return step
        return self._create(spec)

    def _create(self, spec: IndexSpec) -> Step:
        rollover = self.ilm and spec.rollover
        name = spec.first_index if rollover else spec.name
        aliases = {spec.name: {"is_write_index": True}} if rollover else None
        if not create_index(self.client, name, spec.mapping, aliases):
            return self.index(spec)  # another process created it in between
        kind = "rollover alias" if rollover else "index"
        detail = f"write index {name}" if rollover else ""
        if spec.rollover and not self.ilm:
            log.info("no ILM on this server: %s is a plain index with the same mapping (no rollover)", spec.name)
        return Step(kind, spec.name, "created", detail)

    def _check_mapping(self, spec: IndexSpec, kind: str) -> Step:
        """Every index behind the name must map finmon's fields with finmon's types; missing fields are added."""
        mappings = self.client.indices.get_mapping(index=spec.name)
        found = [
            c for index, body in mappings.items() for c in conflicts(index, body.get("mappings", {}), spec.mapping)
        ]
        if found:
            raise SetupError("mapping conflict: " + "; ".join(str(c) for c in found))
        missing = sorted(
            {f for body in mappings.values() for f in missing_fields(body.get("mappings", {}), spec.mapping)}
        )
        if not missing:
            return Step(kind, spec.name, "unchanged")
        self.client.indices.put_mapping(index=spec.name, properties=spec.mapping["properties"])
        return Step(kind, spec.name, "updated", "added " + ", ".join(missing))


def run_setup(client: Elasticsearch, es: ElasticsearchSettings, specs: Sequence[IndexSpec]) -> list[Step]:
    """Create or check these indices (policy, templates, indices) on the cluster `es` names, with its lifecycle
    settings; raises SetupError on a mapping conflict."""
    ilm, why = has_ilm(client)
    if es.lifecycle == "ilm" and not ilm:
        raise SetupError(f"FINMON_ES__LIFECYCLE=ilm but the server has no ILM API ({why})")
    if es.lifecycle == "plain":
        ilm = False
    elif not ilm:
        log.info("Elasticsearch has no ILM (%s): falling back to plain indices with the same mappings", why)
    return IndexSetup(client, lifecycle_of(es), ilm).run(specs)


def templates_missing(client: Elasticsearch, specs: Sequence[IndexSpec]) -> list[str]:
    return [spec.name for spec in specs if not client.indices.exists_index_template(name=spec.name)]


def ensure_setup(
    client: Elasticsearch,
    es: ElasticsearchSettings,
    specs: Sequence[IndexSpec],
    report: Callable[[str], None] = log.info,
) -> None:
    """Run setup on start when any of these templates is missing (the worker and the alert evaluator)."""
    missing = templates_missing(client, specs)
    if not missing:
        return
    report(f"index templates missing ({', '.join(missing)}): running finmon setup")
    for step in run_setup(client, es, specs):
        report(str(step))


def ensure_setup_at_start(client: Elasticsearch, es: ElasticsearchSettings, specs: Sequence[IndexSpec]) -> None:
    """`ensure_setup` with each request bounded by FINMON_ES__CONNECT_TIMEOUT and no client retries; a
    cluster that refuses or does not answer raises Unreachable, one line naming the setting and the URL."""
    quick = client.options(request_timeout=es.connect_timeout, max_retries=0)
    try:
        ensure_setup(quick, es, specs)
    except (TransportConnectionError, ConnectionTimeout) as exc:
        raise Unreachable(
            f"FINMON_ES__URLS: cannot reach Elasticsearch at {','.join(es.urls)} within {es.connect_timeout:g} s "
            f"(FINMON_ES__CONNECT_TIMEOUT): {type(exc).__name__}"
        ) from None


def prepare_index(client: Elasticsearch, es: ElasticsearchSettings, indices: Sequence[IndexSpec]) -> None:
    """Index setup at start, bounded by FINMON_ES__CONNECT_TIMEOUT per request; when Elasticsearch does not
    answer, say so in one line and leave setup to the sink, which retries before the first write."""
    try:
        # a mapping conflict stops the worker here, before it consumes
        ensure_setup_at_start(client, es, indices)
    except Unreachable as exc:
        log.warning("%s; consuming anyway, writes retry until it answers (nothing is committed before)", exc)
