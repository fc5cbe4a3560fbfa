"""`finmon labels bench` runs and prints its three figures (the figures themselves are not judged)."""

from __future__ import annotations

import pytest

from monitor.app import cli


def test_labels_bench_prints_its_figures(capsys: pytest.CaptureFixture[str], no_finmon_env: None) -> None:
    assert cli.main(["labels", "bench", "--rows", "300", "--candidates", "80", "--queue", "20"]) == 0
    read, refused, queue = capsys.readouterr().out.splitlines()
    assert read.startswith("read 300 labelled rows") and "rows/s" in read
    assert "100 MB file: refused" in refused and "larger than 32 MB" in refused
    assert queue.startswith("review queue: 20 of 80 candidates ordered in")
