"""The /metrics (Prometheus text format) and /healthz endpoint of one finmon process, in a daemon thread."""

from __future__ import annotations

import contextlib
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from monitor.app.metrics import Metrics
from monitor.settings import MetricsSettings, SettingsError

log = logging.getLogger(__name__)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def wsgi_app(metrics: Metrics, health: Callable[[], bool]) -> Callable[..., Iterable[bytes]]:
    """/healthz: 200 `ok` while `health()` is true, else 503; everything else: the Prometheus exposition."""
    prometheus = make_wsgi_app(metrics.registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            ok = health()
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"ok\n" if ok else b"unhealthy\n"]
        return prometheus(environ, start_response)

    return app


class MetricsServer:
    """Serves one process's metrics; `port` is the bound port (useful with port 0)."""

    def __init__(self, metrics: Metrics, host: str, port: int, health: Callable[[], bool] = lambda: True) -> None:
        try:
            self.server = make_server(host, port, wsgi_app(metrics, health), _Server, handler_class=_QuietHandler)
        except OSError as exc:
            raise SettingsError(
                f"FINMON_METRICS__PORT: cannot listen on {host}:{port}: {exc.strerror or exc}"
                " (another finmon process? give each its own port, or 0 for any free one)"
            ) from None
        self.host, self.port = host, int(self.server.server_port)
        self._thread = threading.Thread(target=self.server.serve_forever, name="finmon-metrics", daemon=True)

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def health_status(host: str, port: int, timeout: float = 5.0) -> int:
    """The HTTP status of a finmon process's /healthz (0 when nothing answers): for probes and tests."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@contextlib.contextmanager
def serving(
    settings: MetricsSettings, metrics: Metrics, component: str, health: Callable[[], bool] = lambda: True
) -> Iterator[MetricsServer | None]:
    """Serve while the block runs (nothing when `settings.enabled` is false); logs the address."""
    if not settings.enabled:
        yield None
        return
    server = MetricsServer(metrics, settings.host, settings.port, health).start()
    metrics.up.labels(component).set(1)
    metrics.healthy.labels(component).set_function(lambda: float(health()))
    log.info("%s metrics on http://%s:%d/metrics (health: /healthz)", component, server.host, server.port)
    try:
        yield server
    finally:
        metrics.up.labels(component).set(0)
        server.stop()
