"""Imports between finmon's packages go one way, from the app shell down.

The units, lowest first: the news schemas, the shared parts of monitor (settings sections and their types,
backoff, times, contracts, the per-request deadline), telemetry, then each stage, then `training`, then the
app shell (`monitor.app`), the only unit that composes. A unit may import the shared parts and the units
before it in `ORDER`, never one after it: so no stage reaches up into the app shell or `training`, and no two
units import each other.

Checked twice: statically, every import statement of every module (those inside functions too), and in a
fresh interpreter, every module each unit loads (transitive imports included)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# the modules of monitor's top level every unit may use (they import no other unit)
SHARED = (
    "monitor.stage_settings",
    "monitor.setting_types",
    "monitor.backoff",
    "monitor.times",
    "monitor.contracts",
    "monitor.deadline",
)

ORDER = (
    "monitor.news",
    "monitor.telemetry",
    "monitor.scoring",
    "monitor.store",
    "monitor.kibana",
    "monitor.labels",
    "monitor.stream",
    "monitor.ingest",
    "monitor.dashboard",
    "alerts",
    "training",
    "monitor.app",
)


def unit_of(module: str) -> str | None:
    """The unit a dotted module name belongs to; None for what is not finmon's (or is `monitor` itself)."""
    for unit in (*SHARED, *ORDER):
        if module == unit or module.startswith(unit + "."):
            return unit
    return None


def allowed(unit: str) -> set[str]:
    if unit in SHARED:
        return {*SHARED, "monitor.news"}  # the contracts name the news schemas
    return {unit, *SHARED, *ORDER[: ORDER.index(unit)]}


def source_files(unit: str) -> list[Path]:
    path = ROOT / unit.replace(".", "/")
    return sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module an import statement of this file names, absolute (`from . import x` resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names |= {base, *(f"{base}.{alias.name}" for alias in node.names)}
    return names


def reaching_up(unit: str) -> list[str]:
    found = []
    for path in source_files(unit):
        for name in sorted(imported(path)):
            target = unit_of(name)
            if target is not None and target not in allowed(unit):
                found.append(f"{path.relative_to(ROOT)} imports {name} ({target})")
    return found


@pytest.mark.parametrize("unit", [*SHARED, *ORDER])
def test_no_unit_imports_a_unit_above_it(unit: str) -> None:
    assert reaching_up(unit) == []


def test_every_package_is_in_the_order() -> None:
    """A new package gets a place in ORDER (or this test fails), so nothing escapes the check."""
    packages = {f"monitor.{p.parent.name}" for p in (ROOT / "monitor").glob("*/__init__.py")}
    modules = {f"monitor.{p.stem}" for p in (ROOT / "monitor").glob("*.py") if p.stem != "__init__"}
    assert packages | modules <= {*SHARED, *ORDER}
    assert {"alerts", "training"} <= set(ORDER)


LOADED = """
import importlib, json, pkgutil, sys
for name in sys.argv[1:]:
    package = importlib.import_module(name)
    for module in pkgutil.walk_packages(getattr(package, "__path__", []), name + "."):
        importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by(*units: str) -> list[str]:
    """Every module loaded by importing these units and each of their modules."""
    result = subprocess.run(
        [sys.executable, "-c", LOADED, *units], capture_output=True, text=True, check=True, timeout=300, cwd=ROOT
    )
    return list(json.loads(result.stdout))


def test_no_unit_loads_a_unit_above_it() -> None:
    """What each unit loads at import time, transitively, stays within what it may use."""
    for unit in [*ORDER[:-1]]:
        units = {unit_of(m) for m in loaded_by(unit)} - {None}
        assert units <= allowed(unit), f"{unit} loads {sorted(units - allowed(unit))}"
