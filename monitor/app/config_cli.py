"""`finmon config reference`: print the configuration reference, write it into docs/configuration.md, or
check it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from monitor.app.settings import Settings, SettingsError


def register(commands: Any) -> None:
    config = commands.add_parser("config", help="configuration: the reference of every FINMON_* variable")
    sub = config.add_subparsers(dest="config_command", required=True, metavar="CONFIG_COMMAND")
    ref = sub.add_parser("reference", help="print the reference as a markdown table")
    ref.add_argument(
        "--write", type=Path, metavar="FILE", help="replace the reference block in FILE (docs/configuration.md)"
    )
    ref.add_argument("--check", type=Path, metavar="FILE", help="exit 1 when FILE's reference block is out of date")
    ref.set_defaults(func=cmd_reference)


def cmd_reference(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.app.config_reference import ReferenceMissing, markdown, with_reference

    path = args.write or args.check
    if path is None:
        sys.stdout.write(markdown())
        return 0
    current = path.read_text(encoding="utf-8")
    try:
        updated = with_reference(current)
    except ReferenceMissing as exc:
        raise SettingsError(f"{path}: {exc}") from None
    if args.check:
        if updated != current:
            print(f"{path}: configuration reference is out of date; run finmon config reference --write {path}")
            return 1
        return 0
    path.write_text(updated, encoding="utf-8")
    return 0
