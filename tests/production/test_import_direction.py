"""Imports between packages go one way: the app shell (monitor.app) composes monitor's stages and alerts;
alerts uses monitor's stages (settings sections, the Elasticsearch store) but never the app shell, and
the stages alerts uses never import alerts. Checked in a fresh interpreter, transitive imports included."""

from __future__ import annotations

import json
import subprocess
import sys

LOADED = """
import importlib, json, pkgutil, sys
for name in sys.argv[1:]:
    package = importlib.import_module(name)
    for module in pkgutil.walk_packages(getattr(package, "__path__", []), name + "."):
        importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by(*packages: str) -> list[str]:
    """Every module loaded by importing these modules and each module of these packages."""
    result = subprocess.run(
        [sys.executable, "-c", LOADED, *packages], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(result.stdout))


def test_alerts_never_loads_the_app_shell() -> None:
    assert [m for m in loaded_by("alerts") if m.startswith("monitor.app")] == []


# the parts of monitor alerts may use: the settings sections and their types, backoff, times, contracts, the
# per-request deadline, and the Elasticsearch store (client, index setup, mappings) with the news schemas it writes
SHARED = (
    "monitor.settings",
    "monitor.setting_types",
    "monitor.backoff",
    "monitor.times",
    "monitor.contracts",
    "monitor.deadline",
)
STAGES = ("monitor.store", "monitor.news")


def test_alerts_uses_only_the_shared_parts_of_monitor() -> None:
    used = {m for m in loaded_by("alerts") if m.startswith("monitor.")}
    allowed = {"monitor", *SHARED, *STAGES}
    assert {m for m in used if m not in allowed and not m.startswith(tuple(s + "." for s in STAGES))} == set()


def test_the_parts_of_monitor_alerts_uses_never_load_alerts() -> None:
    assert [m for m in loaded_by(*SHARED, *STAGES) if m == "alerts" or m.startswith("alerts.")] == []
