"""argparse value types shared by finmon's subcommands: a bad value gets argparse's usage message."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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
