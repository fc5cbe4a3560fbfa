"""Field types shared by the settings sections (monitor.settings, alerts.settings); imports nothing of finmon."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic_settings import NoDecode

# A list of strings that an environment variable gives as `a,b` or as JSON `["a","b"]` (see split_commas).
CommaList = Annotated[list[str], NoDecode]


def split_commas(value: Any) -> Any:
    """Accept `a,b` and JSON `["a","b"]` alike for list settings given as strings."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value
