"""Language of an item: what the entry or feed declares, else py3langid on the text (its model loads once)."""

from __future__ import annotations

import re
import threading
from typing import Any

_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


def primary_subtag(tag: str | None) -> str | None:
    """'en-US' → 'en'; None for anything that is not a BCP 47-looking tag."""
    if not tag or not _TAG.match(tag.strip()):
        return None
    return re.split(r"[-_]", tag.strip())[0].lower()


class LanguageDetector:
    """Detects the language of texts that declare none; short texts below `min_chars` stay unknown."""

    def __init__(self, min_chars: int = 20) -> None:
        self.min_chars = min_chars
        self._model: Any = None
        self._lock = threading.Lock()

    def detect(self, text: str) -> str | None:
        if len(text) < self.min_chars:
            return None
        with self._lock:
            if self._model is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                self._model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            lang, prob = self._model.classify(text)
        return str(lang) if prob >= 0.5 else None
