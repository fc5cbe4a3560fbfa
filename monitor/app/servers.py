"""Resolve where Kafka and Elasticsearch are: configured ones as they are, missing ones started embedded."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from monitor.app.embedded import ES_SERVERS, embedded_workdir, start_tansu, start_with_retry
from monitor.app.settings import Settings

log = logging.getLogger(__name__)


@contextlib.contextmanager
def running_services(settings: Settings, *, kafka_needed: bool = True) -> Iterator[Settings]:
    """Yield settings that point at running servers; embedded ones stop when the block exits. A command that
    never touches Kafka (the alert evaluator) passes `kafka_needed=False` and no broker is started for it."""
    start_kafka = settings.kafka.embedded and kafka_needed
    if not (start_kafka or settings.es.embedded):
        yield settings
        return
    with contextlib.ExitStack() as stack:
        workdir = stack.enter_context(embedded_workdir(settings.data_dir / "embedded"))
        kafka, es = settings.kafka, settings.es
        if start_kafka:
            broker = start_with_retry(start_tansu, workdir)
            stack.callback(broker.stop)
            kafka = kafka.model_copy(update={"bootstrap_servers": [broker.address]})
            log.info("embedded Kafka broker (Tansu) at %s", broker.address)
        if es.embedded:
            server = start_with_retry(ES_SERVERS[es.embedded_server], workdir)
            stack.callback(server.stop)
            es = es.model_copy(update={"urls": [server.address], "plain_json": es.embedded_server == "osmem"})
            log.info("embedded Elasticsearch-API server (%s) at %s", es.embedded_server, server.address)
        yield settings.model_copy(update={"kafka": kafka, "es": es})
