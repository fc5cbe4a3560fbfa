"""Field types shared by the settings sections (monitor.settings, alerts.settings); imports nothing of finmon."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_settings import NoDecode


def http_url(url: str) -> str:
    """`url` itself when it starts with http:// or https://, else a ValueError that says so."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} must start with http:// or https://")
    return url


def http_urls(urls: list[str]) -> list[str]:
    """Every URL checked by `http_url` (the first one that fails is named)."""
    for url in urls:
        http_url(url)
    return urls


# A list of strings that an environment variable gives as `a,b` or as JSON `["a","b"]` (see split_commas).
CommaList = Annotated[list[str], NoDecode]
# An http(s) URL, and a CommaList of them.
HttpUrl = Annotated[str, AfterValidator(http_url)]
HttpUrlList = Annotated[list[str], NoDecode, AfterValidator(http_urls)]


def split_commas(value: Any) -> Any:
    """Accept `a,b` and JSON `["a","b"]` alike for list settings given as strings."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value
