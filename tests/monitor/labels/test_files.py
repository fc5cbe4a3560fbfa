"""Label files: every format read, every kind of bad input refused with its file, line and reason, writers
read back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.labels import files
from monitor.labels.files import (
    LabelFileError,
    Prediction,
    label_studio_config,
    read_label_files,
    write_label_studio,
    write_labels_csv,
)
from monitor.labels.records import Label
from monitor.news.schemas import SENTIMENT_LABELS, TOPIC_LABELS


def read(*paths: Path) -> list[Label]:
    return read_label_files(list(paths), SENTIMENT_LABELS, TOPIC_LABELS)


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_either_head_blank_means_no_label(tmp_path: Path) -> None:
    path = write(
        tmp_path / "l.csv",
        "text,sentiment,topic\n"
        "Shares jump after earnings beat,positive,Earnings\n"
        '"Fed holds rates, signals patience", , fed | central banks \n'
        "Oil slides on supply glut,  NEGATIVE ,\n",
    )
    labels = read(path)
    assert [(x.text, x.sentiment, x.topic) for x in labels] == [
        ("Shares jump after earnings beat", "positive", "Earnings"),
        ("Fed holds rates, signals patience", None, "Fed | Central Banks"),
        ("Oil slides on supply glut", "negative", None),
    ]


def test_sentiment_only_csv_with_bom_and_crlf(tmp_path: Path) -> None:
    path = write(tmp_path / "l.csv", "\ufefftext,sentiment\r\nA headline,neutral\r\nAnother one,positive\r\n".encode())
    assert [(x.text, x.sentiment, x.topic) for x in read(path)] == [
        ("A headline", "neutral", None),
        ("Another one", "positive", None),
    ]


def test_jsonl_tsv_and_optional_columns(tmp_path: Path) -> None:
    jsonl = write(
        tmp_path / "l.jsonl",
        '{"text": "Bank fined by regulator", "sentiment": "negative", "topic": "Legal | Regulation", '
        '"news_id": "n1", "labeller": "ana", "labelled_at": "2026-01-02T03:04:05Z"}\n\n'
        '{"text": "Gold steady", "topic": "Gold | Metals | Materials", "sentiment": null}\n',
    )
    tsv = write(tmp_path / "l.tsv", "TEXT\tSentiment\nRates fall\tpositive\n")
    first, second, third = read(jsonl, tsv)
    assert first == Label(
        "Bank fined by regulator",
        "negative",
        "Legal | Regulation",
        news_id="n1",
        labeller="ana",
        labelled_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert (second.sentiment, second.topic) == (None, "Gold | Metals | Materials")
    assert (third.text, third.sentiment) == ("Rates fall", "positive")


def studio_task(text: str, choices: dict[str, str], **extra: object) -> dict[str, object]:
    result = [
        {"from_name": head, "to_name": "text", "type": "choices", "value": {"choices": [name]}}
        for head, name in choices.items()
    ]
    return {"id": 7, "data": {"text": text, **extra}, "annotations": [{"result": result, "was_cancelled": False}]}


def test_label_studio_export_takes_the_latest_kept_annotation(tmp_path: Path) -> None:
    labelled = studio_task(
        "Merger talks collapse", {"sentiment": "negative", "topic": "M&A | Investments"}, news_id="x"
    )
    relabelled = studio_task("Profit doubles", {"sentiment": "neutral"})
    relabelled["annotations"] = [  # type: ignore[index]
        {**relabelled["annotations"][0], "updated_at": "2026-01-01T00:00:00Z"},  # type: ignore[index]
        {
            "result": [{"from_name": "sentiment", "value": {"choices": ["positive"]}}],
            "updated_at": "2026-01-02T00:00:00Z",
            "completed_by": {"email": "bo@example.com"},
        },
        {"result": [{"from_name": "sentiment", "value": {"choices": ["negative"]}}], "was_cancelled": True},
    ]
    unlabelled = {"id": 9, "data": {"text": "Not yet"}, "annotations": [], "predictions": []}
    path = write(tmp_path / "export.json", json.dumps([labelled, relabelled, unlabelled]))
    first, second = read(path)
    assert (first.text, first.sentiment, first.topic, first.news_id) == (
        "Merger talks collapse",
        "negative",
        "M&A | Investments",
        "x",
    )
    assert (second.sentiment, second.labeller) == ("positive", "bo@example.com")


def test_label_studio_json_min_export(tmp_path: Path) -> None:
    path = write(tmp_path / "min.json", json.dumps([{"id": 1, "text": "Yields rise", "sentiment": "Negative"}]))
    assert [(x.text, x.sentiment) for x in read(path)] == [("Yields rise", "negative")]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("unknown.csv", "text,sentiment\nok,positive\nbad,bullish\n", r"line 3: unknown sentiment 'bullish': one of"),
        ("number.csv", "text,sentiment\nbad,2\n", r"line 2: unknown sentiment '2': one of negative, neutral"),
        ("number.jsonl", '{"text": "bad", "sentiment": 2}\n', r"line 1: unknown sentiment '2'"),
        ("topic.csv", "text,topic\nx,Sports\n", r"line 2: unknown topic 'Sports': one of Analyst Update"),
        ("empty_text.csv", "text,sentiment\n  ,positive\n", r"line 2: empty text"),
        ("neither.csv", "text,sentiment,topic\nsomething,,\n", r"line 2: neither a sentiment nor a topic"),
        ("header.csv", "headline,label\nx,positive\n", r"line 1: the header needs a `text` column"),
        ("empty.csv", "", r"empty file"),
        ("header_only.csv", "text,sentiment\n", r"no labelled rows"),
        ("extra.csv", "text,sentiment\nx,positive,oops\n", r"line 2: more fields than the header has"),
        ("quote.csv", 'text,sentiment\n"unclosed,positive\n', r"not valid CSV"),
        ("nul.csv", "text,sentiment\nbad\0row,positive\n", r"line 2: text contains a NUL character"),
        ("huge_field.csv", "text,sentiment\n" + "x" * 200_000 + ",positive\n", r"not valid CSV \(field larger"),
        ("long_text.jsonl", '{"text": "' + "x" * 50_001 + '", "sentiment": "positive"}', r"text longer than 50000"),
        ("broken.jsonl", '{"text": "a", "sentiment": "positive"}\n{"text": \n', r"line 2: not valid JSON"),
        ("deep.jsonl", "[" * 100_000 + "\n", r"line 1: not valid JSON \(nested too deeply\)"),
        ("list.jsonl", '["text", "positive"]\n', r"line 1: expected a JSON object"),
        ("text_type.jsonl", '{"text": 5, "sentiment": "positive"}\n', r"line 1: `text` must be a string"),
        ("studio.json", '{"tasks": 1}', r"task 1: no `text`"),
        ("studio2.json", "3", r"expected a Label Studio export"),
        (
            "two_choices.json",
            json.dumps(
                [
                    {
                        "data": {"text": "x"},
                        "annotations": [
                            {"result": [{"from_name": "sentiment", "value": {"choices": ["positive", "negative"]}}]}
                        ],
                    }
                ]
            ),
            r"task 1: sentiment needs exactly one choice",
        ),
        (
            "studio_bad.json",
            json.dumps([studio_task("fine", {"sentiment": "positive"}), studio_task("x", {"sentiment": "up"})]),
            r"task 2 \(id 7\): unknown sentiment 'up'",
        ),
        ("labels.txt", "text,sentiment\n", r"unknown file type '.txt'"),
        ("when.csv", "text,sentiment,labelled_at\nx,positive,yesterday\n", r"line 2: labelled_at 'yesterday' is not"),
    ],
)
def test_bad_rows_name_the_file_line_and_reason(tmp_path: Path, name: str, content: str, reason: str) -> None:
    good = write(tmp_path / "good.csv", "text,sentiment\nfine,positive\n")
    bad = write(tmp_path / name, content)
    with pytest.raises(LabelFileError, match=reason) as raised:
        read(good, bad)
    assert name in str(raised.value)


def test_undecodable_bytes_name_the_line(tmp_path: Path) -> None:
    latin = write(tmp_path / "latin.csv", "text,sentiment\nok,positive\nCafé crème,neutral\n".encode("latin-1"))
    with pytest.raises(LabelFileError, match=r"latin.csv: line 3: not UTF-8"):
        read(latin)
    utf16 = write(tmp_path / "utf16.csv", "text,sentiment\nx,positive\n".encode("utf-16"))
    with pytest.raises(LabelFileError, match=r"utf16.csv: line 1: not UTF-8"):
        read(utf16)


def test_conflicting_duplicates_fail_and_agreeing_ones_merge(tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", "text,sentiment,topic\nStocks rally,positive,\nBonds slip,negative,\n")
    second = write(tmp_path / "b.jsonl", '{"text": "  stocks   RALLY ", "topic": "Markets"}\n')
    merged = read(first, second)
    assert [(x.text, x.sentiment, x.topic) for x in merged] == [
        ("Stocks rally", "positive", "Markets"),
        ("Bonds slip", "negative", None),
    ]
    conflicting = write(tmp_path / "c.csv", "text,sentiment\nBonds slip,positive\n")
    with pytest.raises(
        LabelFileError, match=r"c.csv: line 2: sentiment 'positive' conflicts with 'negative'.*a.csv: line 3"
    ):
        read(first, conflicting)


def test_a_lone_label_column_is_the_sentiment_or_the_topic(tmp_path: Path) -> None:
    sentiments = write(tmp_path / "fiqa.csv", "text,label\r\nChairman steps down,negative\r\nSales rise,Positive\r\n")
    assert [(x.sentiment, x.topic) for x in read(sentiments)] == [("negative", None), ("positive", None)]
    topics = write(tmp_path / "topics.jsonl", '{"text": "Gold up", "label": "gold | metals | materials"}\n')
    assert [(x.sentiment, x.topic) for x in read(topics)] == [(None, "Gold | Metals | Materials")]
    mixed = write(tmp_path / "mixed.csv", "text,label\nA,negative\nB,Macro\n")
    with pytest.raises(LabelFileError, match=r"mixed.csv: line 3: unknown sentiment 'Macro'"):
        read(mixed)
    unknown = write(tmp_path / "unknown.csv", "text,label\nA,0\n")
    with pytest.raises(LabelFileError, match=r"unknown.csv: line 2: unknown label '0': a `label` column holds"):
        read(unknown)


def test_one_label_per_news_id(tmp_path: Path) -> None:
    rows = write(tmp_path / "ids.jsonl", '{"text": "A", "news_id": "n1", "sentiment": "negative"}\n'
                                         '{"text": "A.", "news_id": "n1", "topic": "Macro"}\n')  # fmt: skip
    assert [(x.news_id, x.sentiment, x.topic) for x in read(rows)] == [("n1", "negative", "Macro")]
    clash = write(tmp_path / "clash.jsonl", '{"text": "B", "news_id": "n1", "sentiment": "positive"}\n')
    with pytest.raises(LabelFileError, match=r"clash.jsonl: line 1: sentiment 'positive' conflicts .* news id 'n1'"):
        read(rows, clash)


def test_semicolon_csv_from_spreadsheets(tmp_path: Path) -> None:
    path = write(tmp_path / "excel.csv", "Text;Sentiment;Topic\nGold rises 1,5%;positive;Gold | Metals | Materials\n")
    assert [(x.text, x.sentiment, x.topic) for x in read(path)] == [
        ("Gold rises 1,5%", "positive", "Gold | Metals | Materials")
    ]


def test_oversized_files_fail_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as out:  # 100 MB of rows, sparse: the size is all the check may look at
        out.write(b"text,sentiment\n")
        out.truncate(100 * 1024 * 1024)
    with pytest.raises(LabelFileError, match=r"big.csv: larger than 32 MB"):
        read(big)
    monkeypatch.setattr(files, "MAX_TOTAL_BYTES", 40)
    small = [write(tmp_path / f"{n}.csv", "text,sentiment\nsome text,positive\n") for n in range(2)]
    with pytest.raises(LabelFileError, match=r"the files together are larger than"):
        read(*small)


def test_an_endless_stream_is_cut_at_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1024)
    with pytest.raises(LabelFileError, match=r"larger than"):
        files._read(Path("/dev/zero"), files.MAX_TOTAL_BYTES)


def test_no_files_and_missing_files(tmp_path: Path) -> None:
    assert read() == []  # no files, no labels (the labels index may hold them)
    with pytest.raises(LabelFileError, match=r"missing.csv: cannot read"):
        read(tmp_path / "missing.csv")


def test_csv_round_trip(tmp_path: Path) -> None:
    labels = [
        Label(
            'Tricky, "quoted"\nheadline',
            "positive",
            "Earnings",
            news_id="n1",
            labeller="ana",
            labelled_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
            model_version="2",
        ),
        Label("Only a topic", None, "Macro"),
    ]
    assert read(write_labels_csv(labels, tmp_path / "out" / "labels.csv")) == labels


def test_label_studio_round_trip_with_predictions(tmp_path: Path) -> None:
    labels = [
        Label("Labelled by a person", "negative", None, news_id="n1", model_version="2"),
        Label("Sent for labelling", None, None, news_id="n2"),
    ]
    predictions = {"n2": Prediction("positive", "Markets", 0.41, "finmon-minilm 2"), "n1": Prediction("neutral", None)}
    path = write_label_studio(labels, tmp_path / "tasks.json", predictions)
    tasks = json.loads(path.read_text(encoding="utf-8"))
    assert tasks[1]["data"] == {"text": "Sent for labelling", "news_id": "n2"} and "annotations" not in tasks[1]
    assert tasks[1]["predictions"][0]["score"] == 0.41
    assert {r["value"]["choices"][0] for r in tasks[1]["predictions"][0]["result"]} == {"positive", "Markets"}
    # what Label Studio gives back: the pre-annotation accepted as the person's annotation
    tasks[1]["annotations"] = [{"result": tasks[1]["predictions"][0]["result"]}]
    path.write_text(json.dumps(tasks), encoding="utf-8")
    assert [(x.news_id, x.sentiment, x.topic) for x in read(path)] == [
        ("n1", "negative", None),
        ("n2", "positive", "Markets"),
    ]


def test_label_studio_config_names_every_label() -> None:
    config = label_studio_config(SENTIMENT_LABELS, TOPIC_LABELS)
    assert config.count("<Choice ") == len(SENTIMENT_LABELS) + len(TOPIC_LABELS)
    assert '<Choice value="M&amp;A | Investments"/>' in config and 'name="sentiment"' in config
