from pathlib import Path

from rich.console import Console

from monitor.app.live_stats import Snapshot, TopicRow
from monitor.app.settings import Settings
from monitor.app.view import render


def _text(snapshot: Snapshot) -> str:
    console = Console(width=160, record=True, color_system=None)
    console.print(render(snapshot, Settings(), Path("worker.log")))
    return console.export_text()


def test_the_view_lists_each_firing_alert_by_its_summary() -> None:
    snapshot = Snapshot(indexed=3, topics=[TopicRow("Energy", 3, 2)], alerts=["Energy: negative news 67%", "x=y"])
    text = _text(snapshot)
    assert "Alerts firing: 2" in text and "Energy: negative news 67%" in text and "x=y" in text


def test_the_view_says_when_no_alert_fires() -> None:
    assert "no alert firing" in _text(Snapshot(notes=["feeds: 1 polls"]))
