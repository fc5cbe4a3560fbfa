"""argparse helpers shared by finmon's subcommands: value types (a bad value gets argparse's usage message) and
options built from a typed dataclass of arguments."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T", int, float)


def _positive(text: str, convert: Callable[[str], T], noun: str) -> T:
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def positive_float(text: str) -> float:
    return _positive(text, float, "a number")


def positive_int(text: str) -> int:
    return _positive(text, int, "a whole number")


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One option per dataclass field, typed from the annotation, with the field's help text."""
    hints = typing.get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        kind, options = hints[spec.name], {"help": spec.metadata.get("help", ""), "default": spec.default}
        args = typing.get_args(kind)
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is tuple:
            options.update(nargs="+", type=str)
        elif typing.get_origin(kind) is typing.Literal:
            options["choices"] = list(args)
        else:
            base = next((a for a in args if a is not type(None)), kind) if args else kind
            options["type"] = base
        options["help"] = f"{options['help']} (default: {spec.default!r})"
        parser.add_argument(_flag(spec.name), **options)


def args_from_namespace(cls: type, namespace: argparse.Namespace) -> Any:
    """The dataclass `cls` from the parsed options that `add_dataclass_arguments` added (lists become tuples)."""
    values = {f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
