"""`training` sits between the app shell and monitor's stages: it uses the stages (settings sections, scoring,
labels, news) and never the app shell, which composes it. Checked in a fresh interpreter, transitive imports
included."""

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
    """Every module loaded by importing these packages and each of their modules."""
    result = subprocess.run(
        [sys.executable, "-c", LOADED, *packages], capture_output=True, text=True, check=True, timeout=300
    )
    return list(json.loads(result.stdout))


def test_training_never_loads_the_app_shell() -> None:
    loaded = loaded_by("training")
    assert "training.adapt" in loaded and "training.model_bench" in loaded
    assert [m for m in loaded if m.startswith("monitor.app")] == []
