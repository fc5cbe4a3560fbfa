"""Thin Kafka adapter: the security options translated once (for kafka-python and Faust alike), client
options, topic creation, a kafka-python producer."""

from __future__ import annotations

import contextlib
import logging
import ssl
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from monitor.contracts import Unreachable
from monitor.stage_settings import KafkaSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Security:
    """The cluster's security options, translated once: an SSL context for SSL listeners and the SASL
    login for SASL ones. kafka-python (`client_options`) and Faust (the worker) both take these parts."""

    protocol: str
    ssl_context: ssl.SSLContext | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None


def security(settings: KafkaSettings) -> Security:
    context = None
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None)
        if settings.ssl_certfile:
            keyfile = str(settings.ssl_keyfile) if settings.ssl_keyfile else None
            context.load_cert_chain(str(settings.ssl_certfile), keyfile)
    if not settings.security_protocol.startswith("SASL"):
        return Security(settings.security_protocol, context)
    password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
    return Security(settings.security_protocol, context, settings.sasl_mechanism, settings.sasl_username, password)


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """kafka-python keyword arguments for the configured cluster and its security options."""
    secure = security(settings)
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": secure.protocol,
    }
    if secure.ssl_context is not None:
        options["ssl_context"] = secure.ssl_context
    if secure.sasl_mechanism:
        options["sasl_mechanism"] = secure.sasl_mechanism
        options["sasl_plain_username"] = secure.sasl_username
        options["sasl_plain_password"] = secure.sasl_password
    return options


def admin_client(settings: KafkaSettings) -> KafkaAdminClient:
    """An admin client, or Unreachable naming the setting and the address after `connect_timeout` seconds."""
    timeout_ms = int(settings.connect_timeout * 1000)
    try:
        return KafkaAdminClient(
            **client_options(settings), bootstrap_timeout_ms=timeout_ms, request_timeout_ms=max(timeout_ms, 1000)
        )
    except (KafkaError, OSError) as exc:
        raise Unreachable(
            f"FINMON_KAFKA__BOOTSTRAP_SERVERS: cannot reach Kafka at {','.join(settings.bootstrap_servers)} "
            f"within {settings.connect_timeout:g} s (FINMON_KAFKA__CONNECT_TIMEOUT): {type(exc).__name__}"
        ) from None


def ensure_topics(settings: KafkaSettings) -> None:
    """Create news.raw, news.scored and news.dlq when missing (existing topics are left as they are)."""
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        wanted = [settings.raw_topic, settings.scored_topic, settings.dlq_topic]
        new = [
            NewTopic(name, settings.partitions, settings.replication_factor) for name in wanted if name not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process created it first
                admin.create_topics(new)
            log.info("created topics %s", ", ".join(t.name for t in new))
    finally:
        admin.close()


def topic_partitions(settings: KafkaSettings, topics: list[str]) -> dict[str, list[int]]:
    """The partition ids of each topic (read once at start: partitions added later keep the keys that the
    worker sends on the partitions they had, which a producer reading fresh metadata would move)."""
    admin = admin_client(settings)
    try:
        described = admin.describe_topics(topics)
    finally:
        admin.close()
    return {
        topic["name"]: sorted(part["partition_index"] for part in topic["partitions"])
        for topic in described
        if not topic.get("error_code") and topic["partitions"]
    }


def make_producer(settings: KafkaSettings, **overrides: Any) -> KafkaProducer:
    """An idempotent-where-supported producer that waits for all in-sync replicas."""
    options = {**client_options(settings), "acks": "all", "enable_idempotence": True, "linger_ms": 5, **overrides}
    return KafkaProducer(**options)
