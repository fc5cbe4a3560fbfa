"""Bad data files give a DataError naming the file, line, column or label; `finmon train` exits 2 with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.app.cli import main
from tests.helpers import write_csv
from training.label_maps import DEFAULT_LABELS, LabelMap
from training.labelled_files import DataError, DataSource, read_examples

MAPS = {task: LabelMap(task, names) for task, names in DEFAULT_LABELS.items()}


def read(path: Path, columns: dict[str, str] | None = None) -> list:
    return read_examples(DataSource(path, columns or {"sentiment": "label"}), MAPS)


def test_a_good_file_reads_names_ids_and_aliases(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "ok.csv", ["text", "label"], [("a", "0"), ("b", "Bullish"), ("c &amp; d https://t.co/x", "neutral")]
    )
    examples = read(path)
    assert [ex.label("sentiment") for ex in examples] == [0, 2, 1]  # negative, positive, neutral
    assert examples[2].text == "c & d"
    assert all(ex.label("topic") == -100 for ex in examples)


def test_missing_column_names_the_file_and_the_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "cols.csv", ["headline", "label"], [("fed cuts rates", "1")])
    with pytest.raises(DataError, match=r"cols\.csv:2: missing column 'text' \(found: headline, label\)"):
        read(path)


def test_unknown_label_names_the_file_line_and_label(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "labels.csv", ["text", "label"], [("fed cuts rates", "1"), ("oil falls", "sideways")])
    with pytest.raises(
        DataError, match=r"labels\.csv:3: unknown sentiment label 'sideways'; the model knows: negative"
    ):
        read(path)


def test_out_of_range_topic_id_is_unknown(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "topic.csv", ["text", "label"], [("fed cuts rates", "20")])
    with pytest.raises(DataError, match=r"topic\.csv:2: unknown topic label '20'"):
        read(path, {"topic": "label"})


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", r"empty\.csv: empty file \(no header row\)"),
        ("header.csv", "text,label\n", r"header\.csv: empty file \(no labelled rows\)"),
        ("blank.jsonl", "\n\n", r"blank\.jsonl: empty file \(no labelled rows\)"),
        ("unlabelled.csv", "text,label\nfed cuts rates,\n", r"unlabelled\.csv: empty file \(no labelled rows\)"),
    ],
)
def test_empty_files(tmp_path: Path, name: str, content: str, message: str) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(DataError, match=message):
        read(tmp_path / name)


def test_non_json_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "fed cuts rates", "label": 1}\n{"text": "oil falls", "label": 0\n')
    with pytest.raises(DataError, match=r"rows\.jsonl:2: not JSON"):
        read(path)


def test_json_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('["fed cuts rates", 1]\n')
    with pytest.raises(DataError, match=r"rows\.jsonl:1: expected a JSON object per line"):
        read(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere\.csv: no such file"):
        read(tmp_path / "nowhere.csv")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("excel.csv", "text,label\r\nfed cuts rates,1\r\n"),
        ("export.jsonl", '{"text": "fed cuts rates", "label": "1"}\n'),
    ],
)
def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8-sig"))
    assert [ex.label("sentiment") for ex in read(path)] == [2]


def test_missing_column_in_a_row_with_surplus_fields_is_still_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("headline,label\nfed cuts rates,1,extra\n")
    with pytest.raises(DataError, match=r"ragged\.csv:2: missing column 'text' \(found: headline, label\)"):
        read(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("text,label\nfed cuts rates,sideways\n", "unknown sentiment label 'sideways'"),
        ("headline,label\nfed cuts rates,1\n", "missing column 'text'"),
        ("", "empty file"),
    ],
)
def test_finmon_train_with_a_bad_file_exits_2_with_the_message(
    tmp_path: Path, tiny_base: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    code = main(["train", "--base", str(tiny_base), "--sentiment", str(bad), "--output", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("finmon train: ") and str(bad) in err and message in err
    assert not (tmp_path / "out").exists()
