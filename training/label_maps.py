"""Label maps: the monitor's label names, the shared/data ids and aliases (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.news import schemas
from monitor.scoring.modeldir import TASKS

SENTIMENT_LABELS = list(schemas.SENTIMENT_LABELS)
TOPIC_LABELS = list(schemas.TOPIC_LABELS)
DEFAULT_LABELS: dict[str, list[str]] = {"topic": TOPIC_LABELS, "sentiment": SENTIMENT_LABELS}

# shared/data ids: tfns 0 Bearish, 1 Bullish, 2 Neutral; tfnt 0..19 in TOPIC_LABELS order.
DATASET_IDS: dict[str, dict[str, str]] = {
    "sentiment": {"0": "negative", "1": "positive", "2": "neutral"},
    "topic": {str(i): name for i, name in enumerate(TOPIC_LABELS)},
}
ALIASES: dict[str, dict[str, str]] = {
    "sentiment": {"bearish": "negative", "bullish": "positive", "neg": "negative", "pos": "positive"},
    "topic": {},
}


class LabelError(ValueError):
    """A label value that the task (or the model) does not know."""


class LabelMap:
    """Turns label values (names, aliases or dataset ids) into class indices of one task."""

    def __init__(self, task: str, names: Sequence[str], id_map: dict[str, str] | None = None) -> None:
        if task not in TASKS:
            raise LabelError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
        self.task = task
        self.names = list(names)
        self._index = {name.casefold(): i for i, name in enumerate(self.names)}
        self._ids = DATASET_IDS[task] if id_map is None else id_map
        self._aliases = ALIASES[task]

    def __len__(self) -> int:
        return len(self.names)

    def index(self, value: object) -> int:
        """The class index of a label given by name, alias or id; LabelError names an unknown label."""
        text = str(value).strip()
        if text.endswith(".0") and text[:-2].isdigit():  # ids read back from float columns
            text = text[:-2]
        name = self._ids.get(text, text)
        key = self._aliases.get(name.casefold(), name).casefold()
        if key not in self._index:
            known = ", ".join(self.names)
            raise LabelError(f"unknown {self.task} label {value!r}; the model knows: {known}")
        return self._index[key]

    def name(self, index: int) -> str:
        return self.names[index]
