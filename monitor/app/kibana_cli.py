"""`finmon kibana import` (send the saved objects to Kibana) and `finmon kibana build` (regenerate them)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from monitor.app.settings import Settings, SettingsError
from monitor.kibana import NDJSON, PANELS, shipped
from monitor.stage_settings import ALERTS_INDEX, NEWS_INDEX


def register(commands: Any) -> None:
    kibana = commands.add_parser("kibana", help="Kibana saved objects: import the dashboard, or rebuild the files")
    sub = kibana.add_subparsers(dest="kibana_command", required=True, metavar="KIBANA_COMMAND")
    imp = sub.add_parser("import", help="import data views and the Market sentiment dashboard into Kibana")
    imp.add_argument("--url", help="Kibana URL (default: FINMON_KIBANA__URL)")
    imp.add_argument("--api-key", help="API key (default: FINMON_KIBANA__API_KEY)")
    imp.add_argument("--username", help="basic auth user (default: FINMON_KIBANA__USERNAME)")
    imp.add_argument("--password", help="basic auth password (default: FINMON_KIBANA__PASSWORD)")
    imp.add_argument("--space", help="Kibana space (default: FINMON_KIBANA__SPACE or the default space)")
    imp.add_argument("--overwrite", action="store_true", help="replace objects that already exist")
    imp.add_argument("--file", type=Path, help="ndjson to import (default: the shipped finmon.ndjson)")
    imp.add_argument("--wait", type=float, default=0.0, help="seconds to keep retrying while Kibana starts")
    imp.set_defaults(func=cmd_import)
    build = sub.add_parser("build", help="regenerate finmon.ndjson and panels.json from monitor/kibana/objects.py")
    build.add_argument("--out", type=Path, help="directory to write to (default: the package's own)")
    build.add_argument("--news-index", default=NEWS_INDEX)
    build.add_argument("--alerts-index", default=ALERTS_INDEX)
    build.set_defaults(func=cmd_build)


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.kibana.importer import ImportFailed, KibanaTarget, import_objects

    kibana = settings.kibana
    url = args.url or kibana.url
    if not url:
        raise SettingsError("FINMON_KIBANA__URL: give Kibana's URL (or --url)")
    target = KibanaTarget(
        url=url,
        api_key=args.api_key or _secret(kibana.api_key),
        username=args.username or kibana.username,
        password=args.password or _secret(kibana.password),
        space=args.space or kibana.space,
        verify=str(kibana.ca_certs) if kibana.ca_certs else kibana.verify_certs,
    )
    path = args.file or shipped(NDJSON)
    try:
        result = import_objects(target, path.read_bytes(), overwrite=args.overwrite, wait=args.wait)
    except ImportFailed as exc:
        print(f"finmon: {exc}", file=sys.stderr)
        return 1
    for error in result.errors:
        print(f"not imported: {error}", file=sys.stderr)
    if not result.success:
        hint = "" if args.overwrite else " (objects that exist already need --overwrite)"
        print(f"finmon: Kibana imported {result.count} objects with errors{hint}", file=sys.stderr)
        return 1
    print(f"imported {result.count} saved objects into {target.endpoint()}")
    return 0


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.kibana.objects import panel_queries, saved_objects, to_ndjson

    out = args.out or shipped(NDJSON).parent
    objects = saved_objects(args.news_index, args.alerts_index)
    (out / NDJSON).write_text(to_ndjson(objects), encoding="utf-8")
    (out / PANELS).write_text(json.dumps(panel_queries(objects), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out / NDJSON} ({len(objects)} objects) and {out / PANELS}")
    return 0
