"""The documentation site builds with --strict (links, anchors, nav), the README points into it, and every
repository path or module the pages name still exists, so a rename that forgets the docs fails here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
TOP = ("monitor", "alerts", "training", "tests", "docker", "docs")
PATH = re.compile(rf"(?<![\w./~-])((?:{'|'.join(TOP)})/[\w./-]*)")
MODULE = re.compile(rf"`((?:{'|'.join(TOP[:3])})(?:\.\w+)+)")
FILE_IN_FOLDER = re.compile(r"[\w/]+\.(py|yaml|json|ndjson|\*)")  # `worker.py`, `static/review.*`
NOT_IN_GIT = {"docker/.env"}  # made by the reader from docker/.env.example


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def test_mkdocs_build_is_strict_clean(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    argv = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    assert (tmp_path / "site" / "configuration" / "index.html").is_file()


def test_readme_is_short_and_starts_with_the_two_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 80, "the README is the two commands, a paragraph, the picture and links: the rest is docs/"
    first_screen = "\n".join(lines[:20])
    assert "make up " in first_screen and "make test " in first_screen


def test_readme_links_point_at_files() -> None:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text(encoding="utf-8"))
    assert targets
    missing = [target for target in targets if "://" not in target and not (ROOT / target).exists()]
    assert not missing, f"README links to missing files: {missing}"


def looks_like_a_path(text: str) -> bool:
    """A file name, a folder (trailing slash) or two levels deep: not `docs/s` (documents per second)."""
    return "." in text.rsplit("/", 1)[-1] or text.endswith("/") or text.count("/") >= 2


def test_paths_named_in_the_docs_exist() -> None:
    missing = []
    for page in pages():
        for found in PATH.findall(page.read_text(encoding="utf-8")):
            path = found.rstrip(".,:;")
            if looks_like_a_path(path) and path not in NOT_IN_GIT and not (ROOT / path).exists():
                missing.append(f"{page.relative_to(ROOT)}: {path}")
    assert not missing, "paths named in the docs that do not exist:\n" + "\n".join(missing)


def module_exists(dotted: str) -> bool:
    """A dotted name whose module part exists; at most one trailing attribute (a function, a class)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:cut])
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
            return len(parts) - cut <= 1
    return False


def test_modules_named_in_the_docs_exist() -> None:
    missing = [
        f"{page.relative_to(ROOT)}: {name}"
        for page in pages()
        for name in MODULE.findall(page.read_text(encoding="utf-8"))
        if not module_exists(name)
    ]
    assert not missing, "modules named in the docs that do not exist:\n" + "\n".join(missing)


def test_the_module_map_names_files_that_exist() -> None:
    """Each row of architecture.md's "Where things are" table names its folders, then files in one of them."""
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    rows = [line for line in text.split("## Where things are", 1)[1].splitlines() if line.startswith("| ")]
    assert len(rows) > 5
    missing = []
    for row in rows[2:]:  # past the header and its rule
        names = re.findall(r"`([^`]+)`", row)
        folders = [ROOT / name for name in names if name.endswith("/")]
        files = [name for name in names if FILE_IN_FOLDER.fullmatch(name) and not name.startswith(TOP)]
        stage = row.split("|")[1].strip()
        missing += [f"{stage}: {name}" for name in files if not any(any(folder.glob(name)) for folder in folders)]
    assert not missing, "files in the module map that do not exist:\n" + "\n".join(missing)
