"""The local dashboard page: the Kibana panels' Vega-Lite specs, fed by finmon from Elasticsearch and drawn in
the browser by the vendored Vega runtime (`finmon up`, `finmon dashboard`); and the review queue (`/review`),
where people label the news the model was least certain of."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def static_dir() -> Path:
    """The page, its script and the vendored Vega runtime (package data)."""
    return Path(str(resources.files("monitor.dashboard") / "static"))
