"""The configuration reference in docs/configuration.md is generated from the settings object and up to date."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from monitor.app import cli
from monitor.app.config_reference import END, START, ReferenceMissing, markdown, rows, with_reference
from monitor.app.settings import Settings

CONFIG_PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_page_reference_is_current() -> None:
    text = CONFIG_PAGE.read_text(encoding="utf-8")
    assert with_reference(text) == text, "run: finmon config reference --write docs/configuration.md"


def test_every_leaf_setting_is_listed_once() -> None:
    names = [row[0].strip("`") for row in rows()]
    assert len(names) == len(set(names))
    sections = {name: f.annotation for name, f in Settings.model_fields.items()}
    expected = sum(
        len(kind.model_fields) if isinstance(kind, type) and issubclass(kind, BaseModel) else 1
        for kind in sections.values()
    )
    assert len(names) == expected
    assert {"FINMON_METRICS__PORT", "FINMON_LOG_FORMAT", "FINMON_ES__LIFECYCLE", "FINMON_KIBANA__URL"} <= set(names)


def test_defaults_and_types_are_rendered_machine_independently() -> None:
    table = {row[0].strip("`"): row for row in rows()}
    assert table["FINMON_DATA_DIR"][2] == "`~/.cache/finmon`"
    assert table["FINMON_LOG_FORMAT"][1] == "`text` \\| `json`"
    assert table["FINMON_ES__API_KEY"][1] == "secret" and table["FINMON_METRICS__ENABLED"][2] == "`true`"


def test_check_fails_on_a_stale_block_and_write_fixes_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "configuration.md"
    doc.write_text(f"# x\n\n{START}\n| stale |\n{END}\nafter\n", encoding="utf-8")
    assert cli.main(["config", "reference", "--check", str(doc)]) == 1
    assert cli.main(["config", "reference", "--write", str(doc)]) == 0
    assert cli.main(["config", "reference", "--check", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert markdown() in text and text.startswith("# x\n") and text.endswith(f"{END}\nafter\n")
    with pytest.raises(ReferenceMissing):
        with_reference("no markers")
