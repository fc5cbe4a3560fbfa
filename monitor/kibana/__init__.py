"""Kibana saved objects shipped with finmon (data views, the "Market sentiment" dashboard) and their import."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

NDJSON = "finmon.ndjson"
PANELS = "panels.json"


def shipped(name: str = NDJSON) -> Path:
    """A file of the kibana package data (`finmon.ndjson` or `panels.json`)."""
    return Path(str(resources.files("monitor.kibana") / name))
