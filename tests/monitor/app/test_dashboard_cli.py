import argparse

import pytest

from monitor.app import cli
from monitor.app.dashboard_cli import _moment, _size


def test_dashboard_needs_a_configured_elasticsearch(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FINMON_ES__URLS", raising=False)
    assert cli.main(["dashboard"]) == 2
    assert "FINMON_ES__URLS" in capsys.readouterr().err


def test_arguments() -> None:
    assert _size("1200x900") == (1200, 900)
    assert _moment("2026-11-20T21:05:00Z").isoformat() == "2026-11-20T21:05:00+00:00"
    assert _moment("2026-11-20T21:05").tzinfo is not None
    with pytest.raises(argparse.ArgumentTypeError):
        _size("big")
    with pytest.raises(argparse.ArgumentTypeError):
        _moment("yesterday")
