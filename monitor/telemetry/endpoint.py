"""The /metrics (Prometheus text format) and /healthz endpoint of one finmon process, on finmon's HTTP server."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from prometheus_client.exposition import choose_encoder

from monitor.stage_settings import MetricsSettings
from monitor.telemetry.http_server import Listening, Reply, Request, Route, serve_routes
from monitor.telemetry.series import Metrics

log = logging.getLogger(__name__)


def metrics_route(metrics: Metrics, health: Callable[[], bool]) -> Route:
    """/healthz: 200 `ok` while `health()` is true, else 503; everything else: the registry's exposition, in
    the format the scraper's Accept header asks for (Prometheus text or OpenMetrics)."""

    def answer(request: Request) -> Reply:
        if request.path == "/healthz":
            ok = health()
            return Reply(200 if ok else 503, "text/plain", b"ok\n" if ok else b"unhealthy\n")
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Reply(200, content_type, encode(metrics.registry))

    return answer


@contextlib.contextmanager
def serve_metrics(
    settings: MetricsSettings, metrics: Metrics, component: str, health: Callable[[], bool] = lambda: True
) -> Iterator[Listening | None]:
    """Serve while the block runs (nothing when `settings.enabled` is false); logs the address."""
    if not settings.enabled:
        yield None
        return
    route = metrics_route(metrics, health)
    with serve_routes(route, settings.host, settings.port, name="metrics", port_setting="FINMON_METRICS__PORT") as at:
        metrics.up.labels(component).set(1)
        metrics.healthy.labels(component).set_function(lambda: float(health()))
        log.info("%s metrics on http://%s:%d/metrics (health: /healthz)", component, at.host, at.port)
        try:
            yield at
        finally:
            metrics.up.labels(component).set(0)
