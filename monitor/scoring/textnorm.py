"""The one text normaliser, used identically by training and scoring (pure)."""

from __future__ import annotations

import html
import re
import unicodedata

NORMALIZER_VERSION = "1"

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


def normalize(text: str) -> str:
    """Unescape HTML entities, drop links, normalise Unicode and whitespace; cashtags are kept as they are."""
    text = html.unescape(html.unescape(text))  # feeds often double-escape (&amp;amp;)
    text = unicodedata.normalize("NFKC", text).translate(_CONTROL)
    text = _URL.sub(" ", text)
    return _SPACE.sub(" ", text).strip()
