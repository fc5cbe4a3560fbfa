"""Field types shared by the settings sections (monitor.stage_settings, alerts.alert_settings); no finmon imports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator
from pydantic_settings import NoDecode


def http_url(url: str) -> str:
    """`url` itself when it is an http:// or https:// URL with a host (and a valid port), else a ValueError."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} must start with http:// or https://")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise ValueError(f"{url!r} is not a valid URL: {exc}") from None
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host")
    return url


def readable_file(path: Path) -> Path:
    """`path` when it names a file this process can open, else a ValueError (a missing certificate is named at
    start, not blamed later on the server it was meant for)."""
    try:
        with path.open("rb"):
            return path
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None


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
# A file that must exist and be readable (certificates, keys).
ReadableFile = Annotated[Path, AfterValidator(readable_file)]


def split_commas(value: Any) -> Any:
    """Accept `a,b` and JSON `["a","b"]` alike for list settings given as strings."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value
