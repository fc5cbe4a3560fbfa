"""One human label for one news text: plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Label:
    """A person's sentiment and/or topic for a text. `None` means "no label for that head" (the model's
    behaviour there is kept by `finmon adapt`). Names are the model's label names."""

    text: str
    sentiment: str | None = None
    topic: str | None = None
    news_id: str | None = None
    labelled_at: datetime | None = None
    labeller: str | None = None
    model_version: str | None = None


def text_key(text: str) -> str:
    """A text as a labeller reads it: texts that differ only in case or spacing are one text (the key of a label
    without a news id, in files, in the index and in label sets written for `finmon adapt`)."""
    return " ".join(text.split()).casefold()
