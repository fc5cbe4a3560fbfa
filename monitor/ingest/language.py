"""Language of an item: what the entry or feed declares, else py3langid on the text (its model loads once)."""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


def primary_subtag(tag: str | None) -> str | None:
    """'en-US' → 'en'; None for anything that is not a BCP 47-looking tag."""
    if not tag or not _TAG.match(tag.strip()):
        return None
    return re.split(r"[-_]", tag.strip())[0].lower()


@functools.cache
def _identifier() -> Any:
    """py3langid's model with normalised probabilities (about a second to load, so loaded once per process)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


class LanguageDetector:
    """Detects the language of texts that declare none; texts shorter than `min_chars` or unclear stay unknown."""

    def __init__(self, min_chars: int = 20, min_probability: float = 0.5) -> None:
        self.min_chars = min_chars
        self.min_probability = min_probability
        self._lock = threading.Lock()  # the identifier is not documented as thread-safe

    def detect(self, text: str) -> str | None:
        if len(text) < self.min_chars:
            return None
        with self._lock:
            lang, prob = _identifier().classify(text)
        return str(lang) if prob >= self.min_probability else None
