import json
from pathlib import Path

import pytest

from monitor.stream.replay import Pacer, ReplayError, message_key, read_records


def test_jsonl_lines_are_sent_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    path.write_bytes(b'{"title": "a"}\n\n{broken\r\n')
    assert list(read_records(path)) == [b'{"title": "a"}', b"{broken"]


def test_csv_rows_become_news_items(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    path.write_text('title,text,url,tickers\n"Fed, again",holds rates,https://e.com/f,"AAPL;MSFT"\n,,,\n')
    first, empty = (json.loads(r) for r in read_records(path))
    assert first == {
        "title": "Fed, again",
        "text": "holds rates",
        "url": "https://e.com/f",
        "tickers": ["AAPL", "MSFT"],
    }
    assert empty == {}  # sent as is: the worker dead-letters it with its reason


def test_csv_without_text_columns_and_unknown_formats_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("headline\nx\n")
    with pytest.raises(ReplayError, match="title or text column"):
        list(read_records(tmp_path / "a.csv"))
    with pytest.raises(ReplayError, match="unknown format"):
        read_records(tmp_path / "a.xml")


def test_key_is_the_news_id_or_none() -> None:
    assert message_key(b'{"title": "x", "id": "abc"}') == b"abc"
    assert message_key(b"nope") is None


def test_pacer_schedules_on_the_injected_clock() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    pacer = Pacer(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        pacer.wait()
    assert slept == [0.25, 0.25, 0.25]
    now[0] += 1.0  # a slow send: the pacer does not sleep to catch up
    pacer.wait()
    assert len(slept) == 3


def test_pacer_refuses_a_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="rate"):
        Pacer(0)
