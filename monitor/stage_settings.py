"""The settings of monitor's stages (Kafka, Elasticsearch, model, worker, Kibana, metrics, dashboard).

The one settings object that composes them with the scraper's and the alerts' is `monitor.app.settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from monitor.setting_types import CommaList, HttpUrlList, ReadableFile, split_commas

# The default index names (FINMON_ES__NEWS_INDEX, FINMON_ES__ALERTS_INDEX); alerts derives its other indices
# from the alerts one (alerts.alert_indices).
NEWS_INDEX = "finmon-news"
ALERTS_INDEX = "finmon-alerts"
LABELS_INDEX = "finmon-labels"


class KafkaSettings(BaseModel):
    """Where news comes from and goes to. No bootstrap servers: finmon starts an embedded broker."""

    model_config = ConfigDict(extra="forbid")

    bootstrap_servers: CommaList = Field(default_factory=list, description="host:port list; empty = embedded")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: ReadableFile | None = Field(None, description="CA certificate (PEM) for SSL listeners")
    ssl_certfile: ReadableFile | None = None
    ssl_keyfile: ReadableFile | None = None
    raw_topic: str = Field("news.raw", min_length=1)
    scored_topic: str = Field("news.scored", min_length=1)
    dlq_topic: str = Field("news.dlq", min_length=1)
    partitions: int = Field(4, ge=1, description="partitions of topics finmon creates (caps worker parallelism)")
    replication_factor: int = Field(1, ge=1)
    consumer_group: str = Field("finmon-worker", min_length=1, description="also the Faust app id")
    session_timeout: float = Field(6.0, ge=1, description="consumer group session timeout, seconds")
    heartbeat_interval: float = Field(2.0, gt=0, description="consumer heartbeat interval, seconds")
    connect_timeout: float = Field(15.0, gt=0, description="seconds to reach the brokers at start before giving up")
    commit_interval: float = Field(
        0.5,
        gt=0,
        le=60,
        description="seconds between the worker's offset commits (what is done is committed; a restart "
        "redelivers at most this much more)",
    )
    producer_max_request_size: int = Field(
        1_000_000,
        ge=10_000,
        description="largest record the worker sends, bytes (keep under the broker's message.max.bytes); "
        "bigger dead letters are truncated",
    )
    consumer_max_fetch_size: int = Field(
        16 * 1024 * 1024, ge=1024 * 1024, description="bytes fetched per partition and request (largest record read)"
    )

    _split = field_validator("bootstrap_servers", mode="before")(split_commas)

    @field_validator("bootstrap_servers")
    @classmethod
    def _check_hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            name, sep, port = host.rpartition(":")
            if not sep or not name or not port.isdigit():
                raise ValueError(f"{host!r} is not host:port")
        return hosts

    @model_validator(mode="after")
    def _check_sasl(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and not (self.sasl_mechanism and self.sasl_username):
            raise ValueError("SASL protocols need sasl_mechanism and sasl_username")
        return self

    @property
    def embedded(self) -> bool:
        return not self.bootstrap_servers


class ElasticsearchSettings(BaseModel):
    """Where scored news is indexed. No URLs: finmon starts an embedded Elasticsearch-API server."""

    model_config = ConfigDict(extra="forbid")

    urls: HttpUrlList = Field(default_factory=list, description="http(s)://host:port list; empty = embedded")
    api_key: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    ca_certs: ReadableFile | None = Field(None, description="CA certificate (PEM) of the cluster")
    verify_certs: bool = True
    request_timeout: float = Field(30.0, gt=0)
    connect_timeout: float = Field(
        20.0, gt=0, description="seconds per request at start (index setup) before saying the cluster is unreachable"
    )
    max_retries: int = Field(1, ge=0, description="client-level retries per request (the sink adds its own backoff)")
    plain_json: bool = Field(
        False, description="send plain application/json instead of Elastic's versioned media types"
    )
    client_options: dict[str, Any] = Field(
        default_factory=dict, description="extra keyword arguments for the elasticsearch.Elasticsearch client"
    )
    news_index: str = Field(NEWS_INDEX, min_length=1)
    alerts_index: str = Field(ALERTS_INDEX, min_length=1)
    labels_index: str = Field(LABELS_INDEX, min_length=1, description="people's labels (review queue, imports)")
    embedded_server: Literal["noida", "osmem"] = "noida"
    lifecycle: Literal["auto", "ilm", "plain"] = Field(
        "auto",
        description="news index: ilm = rollover alias + ILM policy, plain = one index, auto = ilm where supported",
    )
    rollover_max_age: str = Field("7d", description="ILM: roll the news index over after this age")
    rollover_max_primary_shard_size: str = Field("50gb", description="ILM: or once a primary shard is this large")
    retention: str | None = Field("90d", description="ILM: delete news indices this long after rollover; empty = keep")
    number_of_shards: int = Field(1, ge=1, description="primary shards of each news index")
    number_of_replicas: int | None = Field(None, ge=0, description="replicas of each index; empty = server default")

    _split = field_validator("urls", mode="before")(split_commas)

    @field_validator("news_index", "alerts_index", "labels_index")
    @classmethod
    def _check_index(cls, name: str) -> str:
        if name != name.lower() or any(c in name for c in ' "*\\<|,>/?'):
            raise ValueError(f'{name!r} is not a valid index name (lowercase, no spaces or */\\<>|,?")')
        return name

    @property
    def embedded(self) -> bool:
        return not self.urls


class ModelSettings(BaseModel):
    """The scoring model and how batches are formed."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description="model directory, or a shipped model: default (empty), accurate")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    max_batch: int = Field(
        64, ge=1, le=4096, description="most windows (a text, or a part of a long one) in one forward pass of the model"
    )
    max_wait: float = Field(
        0.5, gt=0, le=60, description="seconds the worker waits for worker.batch_size messages before taking fewer"
    )
    max_length: int | None = Field(None, ge=16, le=8192, description="tokens per window; empty = model's")
    window_stride: int = Field(32, ge=0, description="tokens shared by consecutive windows of a long text")
    torch_threads: int | None = Field(None, ge=1)
    backend: Literal["torch", "onnx", "fixed"] = Field(
        "torch",
        description="torch, or ONNX Runtime int8 on CPU (exported and cached on first use; finmon[onnx]); "
        "fixed = a benchmark instrument: no model, the same labels for every text",
    )
    onnx_precision: Literal["int8", "fp32"] = Field(
        "int8", description="onnx backend: int8 (dynamic quantisation, fastest) or fp32 (labels identical to torch)"
    )
    onnx_cache_dir: Path = Field(
        Path.home() / ".cache" / "finmon" / "onnx", description="where exported ONNX models are cached"
    )


class WorkerSettings(BaseModel):
    """The Faust stream worker."""

    model_config = ConfigDict(extra="forbid")

    es_retry_max_backoff: float = Field(30.0, gt=0, description="seconds between Elasticsearch retries, at most")
    forward_scored: bool = True
    batch_size: int = Field(
        256,
        ge=1,
        le=65536,
        description="messages taken from Kafka per batch (within model.max_wait); the model scores them in "
        "micro-batches of model.max_batch",
    )
    max_in_flight: int = Field(
        4, ge=1, le=64, description="batches scored, indexed or published at once (the next is read meanwhile)"
    )
    stall_timeout: float = Field(
        300.0, gt=0, description="/healthz turns 503 when a batch has been in progress this many seconds"
    )
    shutdown_timeout: float = Field(
        20.0, gt=0, description="seconds after SIGTERM (or a crash) before the worker exits regardless"
    )


class KibanaSettings(BaseModel):
    """Where `finmon kibana import` sends the shipped saved objects."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, description="Kibana base URL, e.g. http://kibana:5601")
    api_key: SecretStr | None = Field(None, description="Kibana/Elasticsearch API key (encoded form)")
    username: str | None = None
    password: SecretStr | None = None
    space: str | None = Field(None, description="Kibana space to import into; empty = the default space")
    verify_certs: bool = True
    ca_certs: ReadableFile | None = Field(None, description="CA certificate (PEM) of Kibana")


class MetricsSettings(BaseModel):
    """The Prometheus /metrics and /healthz endpoint of each long-running process."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    host: str = Field("127.0.0.1", description="address to listen on (0.0.0.0 in containers)")
    port: int = Field(0, ge=0, le=65535, description="port to listen on; 0 = a free port (logged)")


class DashboardSettings(BaseModel):
    """The local dashboard page (`finmon up`, `finmon dashboard`): read-only, no authentication."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="`finmon up` serves the page")
    host: str = Field("127.0.0.1", description="address to listen on; keep it loopback (the page has no login)")
    port: int = Field(8050, ge=0, le=65535, description="port of the page; 0 = a free port (logged)")
    time_field: str | None = Field(
        None, description="news date field of the charts; empty = `scored_at` (the demo: `published_at`)"
    )
    range: Literal["1h", "24h", "7d"] = Field("24h", description="time range the page opens with")
    refresh: float = Field(30.0, ge=1, description="seconds between the page's automatic refreshes")
    metrics_urls: HttpUrlList = Field(
        default_factory=list,
        description="/metrics endpoints the health strip of `finmon dashboard` reads (worker, scraper, alerts);"
        " `finmon up` reads its own processes",
    )

    _split = field_validator("metrics_urls", mode="before")(split_commas)


class SettingsError(Exception):
    """A setting has a bad value; the message names the setting (as its environment variable)."""
