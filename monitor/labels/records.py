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
