"""`finmon labels import FILE...`, `export --out FILE`, `counts`, `bench` (CLI layer: prints).

Imports are all or nothing: every file is read and checked before the first label is written, and a bad
row stops the import with its file, line and reason (exit 2)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.app.arguments import positive_int
from monitor.app.settings import Settings, SettingsError
from monitor.news.schemas import SENTIMENT_LABELS, TOPIC_LABELS

FORMATS = ("csv", "label-studio")


def register(commands: Any) -> None:
    labels = commands.add_parser("labels", help="people's labels: import, export, counts")
    actions = labels.add_subparsers(dest="labels", required=True, metavar="ACTION")
    read = actions.add_parser("import", help="store labels from CSV/TSV/JSONL or Label Studio JSON exports")
    read.add_argument("files", nargs="+", type=Path, metavar="FILE")
    read.add_argument("--labeller", help="who labelled rows that do not say (default: none)")
    read.add_argument("--dry-run", action="store_true", help="check the files and print what would be stored")
    read.set_defaults(func=cmd_import)
    out = actions.add_parser("export", help="write the stored labels as CSV or Label Studio tasks")
    out.add_argument("--out", type=Path, required=True, metavar="FILE")
    out.add_argument("--format", choices=FORMATS, help="csv or label-studio (default: from the file name, .json)")
    out.add_argument("--queue", type=positive_int, metavar="N", help="label-studio: add N news to label from the queue")
    out.add_argument("--range", default="7d", choices=["1h", "24h", "7d"], help="the queue's range (default 7d)")
    out.set_defaults(func=cmd_export)
    counts = actions.add_parser("counts", help="labels stored per sentiment and topic (JSON)")
    counts.set_defaults(func=cmd_counts)
    bench = actions.add_parser("bench", help="figures: reading label files, ordering the review queue")
    bench.add_argument("--rows", type=positive_int, default=100_000, help="labelled rows to read (100000)")
    bench.add_argument("--candidates", type=positive_int, default=1200, help="queue candidates (1200)")
    bench.add_argument("--queue", type=positive_int, default=200, help="queue length (200)")
    bench.set_defaults(func=cmd_bench)


def _client(settings: Settings) -> Any:
    from monitor.store.es import make_client

    if settings.es.embedded:
        raise SettingsError(
            "FINMON_ES__URLS: labels live in Elasticsearch; point finmon at it (`finmon up` logs its address)"
        )
    return make_client(settings.es)


def _summary(labels: list[Any]) -> str:
    sentiments = sum(label.sentiment is not None for label in labels)
    topics = sum(label.topic is not None for label in labels)
    return f"{len(labels)} labels ({sentiments} with a sentiment, {topics} with a topic)"


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    from monitor.labels.files import LabelFileError, read_label_files
    from monitor.labels.labels_index import stamped, write_labels

    try:
        labels = read_label_files(args.files, SENTIMENT_LABELS, TOPIC_LABELS)
    except LabelFileError as exc:
        print(f"finmon: {exc}; nothing was imported", file=sys.stderr)
        return 2
    if args.labeller:
        labels = [label if label.labeller else replace(label, labeller=args.labeller) for label in labels]
    if args.dry_run:
        print(f"would import {_summary(labels)} into {settings.es.labels_index}")
        return 0
    client = _client(settings)
    try:
        written = write_labels(client, settings.es.labels_index, stamped(labels, lambda: datetime.now(UTC)))
    finally:
        client.close()
    print(f"imported {_summary(labels)} into {settings.es.labels_index} ({written} written)")
    return 0


def _format(args: argparse.Namespace) -> str:
    chosen = args.format or ("label-studio" if args.out.suffix.lower() == ".json" else "csv")
    if args.queue and chosen != "label-studio":
        raise SettingsError("--queue: only Label Studio tasks can carry unlabelled news (use --format label-studio)")
    return str(chosen)


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.dashboard.page import target_of
    from monitor.labels.labels_index import read_labels

    kind = _format(args)
    client = _client(settings)
    try:
        labels = read_labels(client, settings.es.labels_index)
        if kind == "csv":
            from monitor.labels.files import write_labels_csv

            print(f"wrote {len(labels)} labels to {write_labels_csv(labels, args.out)}")
            return 0
        from monitor.dashboard.review import ReviewData

        review = ReviewData(
            client, target_of(settings.es, settings.dashboard), settings.es.labels_index, lambda: datetime.now(UTC)
        )
        _export_studio(review, labels, args)
    finally:
        client.close()
    return 0


def _export_studio(review: Any, labels: list[Any], args: argparse.Namespace) -> None:
    from monitor.dashboard.review import prediction_of
    from monitor.labels.files import label_studio_config, write_label_studio

    sources = review.sources([label.news_id for label in labels if label.news_id])
    predictions = {news_id: prediction_of(source) for news_id, source in sources.items()}
    queued = review.to_label(args.range, args.queue) if args.queue else []
    predictions.update((label.news_id, prediction) for label, prediction in queued)
    tasks = labels + [label for label, _ in queued]
    path = write_label_studio(tasks, args.out, predictions)
    config = args.out.with_suffix(".label-config.xml")
    config.write_text(label_studio_config(SENTIMENT_LABELS, TOPIC_LABELS), encoding="utf-8")
    print(f"wrote {len(labels)} labelled and {len(queued)} unlabelled tasks to {path}; labelling interface: {config}")


def cmd_counts(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.labels.labels_index import label_counts

    client = _client(settings)
    try:
        print(json.dumps(label_counts(client, settings.es.labels_index), indent=1))
    finally:
        client.close()
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.labels.labels_bench import run_bench

    for line in run_bench(args.rows, args.candidates, args.queue):
        print(line)
    return 0
