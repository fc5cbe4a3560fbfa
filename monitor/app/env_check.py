"""Find FINMON_* environment variables that map to no setting (pure: walks the settings model).

pydantic-settings ignores unknown variables, so a misspelt one (`FINMON_KAFKA_BOOTSTRAP_SERVERS`, one
underscore) would silently leave its setting at the default; finmon refuses to start instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any, get_args, get_origin

from pydantic import BaseModel

# FINMON_* variables that are not settings but are meant to be there.
ALLOWED = frozenset(
    {
        "FINMON_CONFIG",  # the TOML settings file
        "FINMON_IMAGE_TAG",  # docker/compose.yaml's image tag, also passed around in .env files
    }
)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_of, get_args(annotation)) if m is not None), None)


def _is_mapping(annotation: Any) -> bool:
    origin = get_origin(annotation) or annotation
    return origin is dict or any(_is_mapping(arg) for arg in get_args(annotation))


def setting_names(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, bool]]:
    """(variable name, open) for every setting; open names take `__KEY` suffixes (dict settings)."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name.upper()}"
        nested = _model_of(field.annotation)
        if nested is not None:
            yield key, False  # a whole section as JSON
            yield from setting_names(nested, key + "__")
        else:
            yield key, _is_mapping(field.annotation)


def unknown_variables(model: type[BaseModel], prefix: str, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(variable, nearest real name or "") for each `prefix*` variable that no setting reads."""
    names = dict(setting_names(model, prefix))
    known = set(names) | ALLOWED
    open_prefixes = tuple(name + "__" for name, is_open in names.items() if is_open)
    unknown = []
    for variable in sorted(environ):
        upper = variable.upper()
        if not upper.startswith(prefix) or upper in known or upper.startswith(open_prefixes):
            continue
        nearest = difflib.get_close_matches(upper, sorted(known), n=1, cutoff=0.6)
        unknown.append((variable, nearest[0] if nearest else ""))
    return unknown


def describe_unknown(unknown: list[tuple[str, str]]) -> str:
    parts = [f"{name} (did you mean {nearest}?)" if nearest else name for name, nearest in unknown]
    return "unknown setting " + "; ".join(parts) + ": no setting has this name"
