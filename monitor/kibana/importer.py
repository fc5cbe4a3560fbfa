"""`finmon kibana import`: POST the saved objects to Kibana's saved objects import API (thin httpx adapter)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({502, 503, 504})


@dataclass(frozen=True)
class KibanaTarget:
    """Where and as whom to import."""

    url: str
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    space: str | None = None
    verify: bool | str = True

    def endpoint(self) -> str:
        space = f"/s/{self.space}" if self.space else ""
        return f"{self.url.rstrip('/')}{space}/api/saved_objects/_import"

    def headers(self) -> dict[str, str]:
        headers = {"kbn-xsrf": "finmon"}
        if self.api_key:
            headers["Authorization"] = f"ApiKey {self.api_key}"
        return headers

    def auth(self) -> httpx.BasicAuth | None:
        return httpx.BasicAuth(self.username, self.password or "") if self.username and not self.api_key else None


@dataclass(frozen=True)
class ImportResult:
    success: bool
    count: int
    errors: list[str] = field(default_factory=list)


class ImportFailed(Exception):
    """Kibana refused the import (HTTP error) or could not be reached in time."""


def _errors(body: dict[str, object]) -> list[str]:
    found = body.get("errors") or []
    assert isinstance(found, list)
    return [f"{e.get('type')} {e.get('id')}: {e.get('error', {}).get('type', e.get('error'))}" for e in found]


def import_objects(
    target: KibanaTarget,
    ndjson: bytes,
    *,
    overwrite: bool,
    client: httpx.Client | None = None,
    wait: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ImportResult:
    """One multipart POST of the ndjson file; retried while Kibana is unreachable or starting, up to `wait` s."""
    own = client is None
    http = client or httpx.Client(timeout=60, verify=target.verify)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                response = http.post(
                    target.endpoint(),
                    params={"overwrite": "true"} if overwrite else {},
                    headers=target.headers(),
                    auth=target.auth() or httpx.USE_CLIENT_DEFAULT,
                    files={"file": ("finmon.ndjson", ndjson, "application/ndjson")},
                )
                if response.status_code not in RETRY_STATUS:
                    break
                problem = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if time.monotonic() >= deadline:
                raise ImportFailed(f"Kibana at {target.url} did not answer ({problem})")
            log.info("Kibana not ready (%s); retrying", problem)
            sleep(2.0)
    finally:
        if own:
            http.close()
    if response.status_code >= 400:
        raise ImportFailed(f"Kibana answered HTTP {response.status_code}: {response.text[:500]}")
    body = response.json()
    return ImportResult(bool(body.get("success")), int(body.get("successCount", 0)), _errors(body))
