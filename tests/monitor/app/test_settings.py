from pathlib import Path

import pytest

from monitor.app.settings import SettingsError, load_settings, to_env

pytestmark = pytest.mark.usefixtures("no_finmon_env")


def test_defaults_mean_embedded_servers() -> None:
    settings = load_settings()
    assert settings.kafka.embedded and settings.es.embedded
    assert settings.kafka.raw_topic == "news.raw" and settings.model.max_batch == 64


def test_env_nested_and_comma_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINMON_KAFKA__BOOTSTRAP_SERVERS", "k1:9092, k2:9092")
    monkeypatch.setenv("FINMON_ES__URLS", '["https://es:9200"]')
    monkeypatch.setenv("FINMON_ES__API_KEY", "secret")
    monkeypatch.setenv("FINMON_MODEL__DEVICE", "cpu")
    settings = load_settings()
    assert settings.kafka.bootstrap_servers == ["k1:9092", "k2:9092"]
    assert settings.es.urls == ["https://es:9200"] and not settings.es.embedded
    assert settings.es.api_key is not None and "secret" not in repr(settings.es)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FINMON_MODEL__MAX_BATCH", "0"),
        ("FINMON_MODEL__DEVICE", "tpu"),
        ("FINMON_KAFKA__BOOTSTRAP_SERVERS", "nohostport"),
        ("FINMON_ES__URLS", "es:9200"),
        ("FINMON_ES__URLS", "http://"),
        ("FINMON_ES__URLS", "http://es:99999"),
        ("FINMON_ES__URLS", "https://es:port"),
        ("FINMON_ES__CA_CERTS", "/nowhere/ca.pem"),
        ("FINMON_KAFKA__SSL_CAFILE", "/nowhere/ca.pem"),
        ("FINMON_KAFKA__SSL_KEYFILE", "/"),
        ("FINMON_ES__NEWS_INDEX", "News"),
        ("FINMON_KAFKA__NO_SUCH_SETTING", "1"),
    ],
)
def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_sasl_needs_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINMON_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(SettingsError, match=r"FINMON_KAFKA: .*sasl_mechanism"):
        load_settings()


def test_toml_file_and_env_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "finmon.toml"
    config.write_text('[model]\nmax_batch = 16\nmax_wait = 2.0\n[kafka]\nraw_topic = "in"\n')
    monkeypatch.setenv("FINMON_MODEL__MAX_WAIT", "0.25")
    settings = load_settings(config)
    assert (settings.model.max_batch, settings.model.max_wait, settings.kafka.raw_topic) == (16, 0.25, "in")


def test_missing_or_broken_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[model\n")
    with pytest.raises(SettingsError, match="invalid settings"):
        load_settings(broken)


def test_to_env_rebuilds_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(
        kafka={"bootstrap_servers": ["a:1", "b:2"]}, es={"client_options": {"retry_on_timeout": True}}
    )
    for name, value in to_env(settings).items():
        monkeypatch.setenv(name, value)
    assert load_settings() == settings


@pytest.mark.parametrize(
    ("name", "nearest"),
    [
        ("FINMON_KAFKA_BOOTSTRAP_SERVERS", "FINMON_KAFKA__BOOTSTRAP_SERVERS"),
        ("FINMON_ES__URL", "FINMON_ES__URLS"),
        ("finmon_model__max_bach", "FINMON_MODEL__MAX_BATCH"),
        ("FINMON_WORKER__STALL_TIMOUT", "FINMON_WORKER__STALL_TIMEOUT"),
    ],
)
def test_an_unknown_variable_fails_naming_it_and_the_nearest_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, nearest: str
) -> None:
    monkeypatch.setenv(name, "x")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == f"unknown setting {name} (did you mean {nearest}?): no setting has this name"


def test_variables_that_are_not_settings_but_belong_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINMON_IMAGE_TAG", "1.2")
    monkeypatch.setenv("FINMON_ES__CLIENT_OPTIONS__HTTP_COMPRESS", "true")  # dict settings take any key
    monkeypatch.setenv("FINMON_KAFKA", '{"raw_topic": "in"}')  # a whole section as JSON
    assert load_settings().kafka.raw_topic == "in"


def test_every_variable_to_env_writes_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in to_env(load_settings()).items():
        monkeypatch.setenv(name, value)
    load_settings()
