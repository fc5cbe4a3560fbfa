"""Headless Chromium (the Debian `chromium` package) driving the page: `finmon dashboard --screenshot` and
`make screenshot`. No browser download, no network beyond the page."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "install Chromium (Debian: apt-get install -y chromium)"
CONSOLE = re.compile(r":(INFO|WARNING|ERROR):CONSOLE[^\]]*\] (.*)")


class ChromiumMissing(RuntimeError):
    """No Chromium on PATH."""


def find_chromium() -> str | None:
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


@dataclass(frozen=True)
class PageRun:
    """What a headless load left: stdout (the DOM with --dump-dom) and the page's console messages."""

    stdout: str
    console: list[tuple[str, str]]  # (level, message)


def _flags(profile: str, size: tuple[int, int], budget_ms: int) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",  # root in containers; the page is finmon's own, on loopback
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={profile}",
        f"--window-size={size[0]},{size[1]}",
        f"--virtual-time-budget={budget_ms}",
    ]


def run_page(url: str, action: list[str], size: tuple[int, int] = (1400, 1400), budget_ms: int = 20000) -> PageRun:
    """Load `url` in headless Chromium until the page is idle (virtual time), then do `action`."""
    binary = find_chromium()
    if binary is None:
        raise ChromiumMissing(f"no Chromium found ({', '.join(CANDIDATES)}): {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="finmon-chromium-") as profile:
        done = subprocess.run(
            [binary, *_flags(profile, size, budget_ms), *action, url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited with {done.returncode}: {done.stderr[-2000:]}")
    return PageRun(done.stdout, [(m.group(1), m.group(2)) for m in CONSOLE.finditer(done.stderr)])


def screenshot(url: str, out: Path, size: tuple[int, int] = (1400, 1400)) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    run_page(url, [f"--screenshot={out.resolve()}"], size)
    return out
