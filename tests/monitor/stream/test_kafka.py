import ssl

import faust
from pydantic import SecretStr

from monitor.stage_settings import KafkaSettings
from monitor.stream.faust_app import faust_credentials
from monitor.stream.kafka import client_options, security


def test_plaintext_has_no_security_parts() -> None:
    kafka = KafkaSettings(bootstrap_servers=["k:9092"])
    assert client_options(kafka) == {"bootstrap_servers": ["k:9092"], "security_protocol": "PLAINTEXT"}
    assert faust_credentials(kafka) is None


def test_sasl_ssl_gives_both_clients_the_same_login_and_context() -> None:
    kafka = KafkaSettings(
        bootstrap_servers=["k:9093"],
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="finmon",
        sasl_password=SecretStr("secret"),
    )
    options = client_options(kafka)
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert (options["sasl_mechanism"], options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "SCRAM-SHA-512",
        "finmon",
        "secret",
    )
    credentials = faust_credentials(kafka)
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password) == ("finmon", "secret")
    assert credentials.ssl_context is not None


def test_ssl_alone_is_an_ssl_context() -> None:
    kafka = KafkaSettings(bootstrap_servers=["k:9093"], security_protocol="SSL")
    assert security(kafka).sasl_mechanism is None
    assert isinstance(faust_credentials(kafka), faust.SSLCredentials)
    assert "sasl_mechanism" not in client_options(kafka)
