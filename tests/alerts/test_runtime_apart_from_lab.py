"""The alert runtime (every module of `alerts` but its lab) never loads the offline lab, so a running
evaluator carries no simulator, oracle or in-memory source. Checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

RUNTIME = """
import importlib, json, pkgutil, sys
import alerts
for module in pkgutil.iter_modules(alerts.__path__, "alerts."):
    if module.name != "alerts.lab":
        importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def test_the_runtime_never_loads_the_lab() -> None:
    result = subprocess.run([sys.executable, "-c", RUNTIME], capture_output=True, text=True, check=True, timeout=120)
    loaded = json.loads(result.stdout)
    assert "alerts.evaluator" in loaded and "alerts.alert_service" in loaded
    assert [m for m in loaded if m == "alerts.lab" or m.startswith("alerts.lab.")] == []
