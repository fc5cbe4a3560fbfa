"""The model card (markdown) and a confusion-matrix PNG per head."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MATPLOTLIB_HINT = "pip install 'finmon[train]'"


def confusion_png(matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str, path: Path) -> None:
    """Row-normalised confusion matrix (gold rows, predicted columns) with the counts written in."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(f"confusion-matrix plots need matplotlib: {MATPLOTLIB_HINT}") from None
    size = max(4.0, 0.45 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    rates = [[c / max(1, sum(row)) for c in row] for row in matrix]
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if count:
                ax.text(
                    j,
                    i,
                    str(count),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if rates[i][j] > 0.5 else "black",
                )
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _per_class_table(report: Mapping[str, Any]) -> list[str]:
    lines = ["| class | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for name, row in report["per_class"].items():
        cell = name.replace("|", "\\|")  # topic names such as "Fed | Central Banks" would split the row
        lines.append(
            f"| {cell} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {int(row['support'])} |"
        )
    return lines


def model_card(
    spec: Mapping[str, Any],
    config: Mapping[str, Any],
    reports: Mapping[str, Mapping[str, Any]],
    images: Mapping[str, str],
    facts: Mapping[str, Any],
) -> str:
    """Markdown: what the model is, how it was trained, and each head's evaluation with its matrix."""
    lines = [
        f"# {spec['name']} {spec['version']}",
        "",
        "Multi-task financial-news classifier for finmon: one shared encoder, a sentiment head "
        "(negative/neutral/positive) and a 20-class topic head, on mean pooling.",
        "",
        f"- base: `{spec['base']}`; adapter: `{spec['adapter']}`; window: {spec['max_length']} tokens; "
        f"normaliser version {spec['normalizer_version']}",
        f"- mode: {config['mode']}; epochs: {config['epochs']}; batch: {config['batch_size']}; "
        f"trainable parameters: {facts.get('trainable_parameters')}; training time: {facts.get('train_seconds')} s",
        f"- reproduce: `{facts.get('command', 'see training_config.json')}`",
    ]
    if config.get("teacher"):
        lines.append(
            f"- distilled from `{config['teacher']}` (weight {config['distill_weight']}, temperature "
            f"{config['temperature']}); unlabelled texts: {', '.join(config.get('unlabelled') or ()) or 'none'}"
        )
    for task, adjustment in (facts.get("calibration") or {}).items():
        lines.append(
            f"- {task} head: prior correction (−log class weight added to the logits) "
            f"{'applied' if adjustment['applied'] else 'not applied'}; held-out macro-F1 "
            f"{adjustment['before']['macro_f1']:.4f} → {adjustment['after']['macro_f1']:.4f} with it"
        )
    lines.append("")
    for name, report in reports.items():
        lines += [
            f"## {name}",
            "",
            f"data: `{report.get('data', 'held-out split of the training files')}` — n={report['n']}, "
            f"accuracy **{report['accuracy']:.4f}**, macro-F1 **{report['macro_f1']:.4f}**",
            "",
            *_per_class_table(report),
            "",
        ]
        if name in images:
            lines += [f"![confusion matrix, {name}]({images[name]})", ""]
    return "\n".join(lines)
