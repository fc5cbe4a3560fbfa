"""The one settings object, built at the edge (CLI) from defaults, a TOML file and FINMON_* variables.

It composes the settings of monitor's stages with the scraper's and the alerts' own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from alerts.alert_settings import AlertSettings
from monitor.app.env_check import describe_unknown, unknown_variables
from monitor.ingest.scrape_settings import ScrapeSettings
from monitor.stage_settings import (
    DashboardSettings,
    ElasticsearchSettings,
    KafkaSettings,
    KibanaSettings,
    MetricsSettings,
    ModelSettings,
    SettingsError,
    WorkerSettings,
)

ENV_PREFIX = "FINMON_"
CONFIG_ENV = "FINMON_CONFIG"


class Settings(BaseSettings):
    """All of finmon's configuration. Env: FINMON_<SECTION>__<NAME>; file: TOML named by FINMON_CONFIG."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", nested_model_default_partial_update=True
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    es: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    scrape: ScrapeSettings = Field(default_factory=ScrapeSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    kibana: KibanaSettings = Field(default_factory=KibanaSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    data_dir: Path = Field(Path.home() / ".cache" / "finmon", description="caches and embedded server data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = Field("text", description="json = one JSON object per log line")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = cls._config_file()
        if config_file is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file))

    @classmethod
    def _config_file(cls) -> Path | None:
        name = os.environ.get(CONFIG_ENV)
        return Path(name) if name else None


def _with_config_file(config_file: Path) -> type[Settings]:
    """Settings that read this TOML file (below the environment in precedence)."""

    class FileSettings(Settings):
        @classmethod
        def _config_file(cls) -> Path | None:
            return config_file

    return FileSettings


def env_name(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + "__".join(str(part).upper() for part in loc if not isinstance(part, int))


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings once, turning validation errors into one message per bad setting."""
    config_file = config_file or Settings._config_file()
    if config_file is not None and not config_file.is_file():
        raise SettingsError(f"{CONFIG_ENV}: config file {config_file} does not exist")
    cls = _with_config_file(config_file) if config_file else Settings
    unknown = unknown_variables(Settings, ENV_PREFIX, os.environ)
    if unknown:
        raise SettingsError(describe_unknown(unknown))
    try:
        return cls(**overrides)
    except ValidationError as exc:
        lines = [f"{env_name(err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None
    except ValueError as exc:  # a TOML syntax error or an undecodable JSON list
        raise SettingsError(f"invalid settings: {exc}") from None


def _env_value(value: Any) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        import json

        return json.dumps(value, default=str)
    return str(value)


def to_env(settings: BaseModel, prefix: str = ENV_PREFIX) -> dict[str, str]:
    """The FINMON_* variables that rebuild these settings in a child process (unset values are left out)."""
    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        key = f"{prefix}{name.upper()}"
        if isinstance(value, BaseModel):
            env.update(to_env(value, key + "__"))
        elif value is not None:
            env[key] = _env_value(value)
    return env
