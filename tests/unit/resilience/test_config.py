"""Configuration from code, environment variables and files; bad values refused clearly."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from enterprise_sqs.config import (
    CircuitBreakerConfig,
    EnterpriseSQSConfig,
    LoggingConfig,
    RetryConfig,
)
from enterprise_sqs.credentials import Credentials
from enterprise_sqs.errors import ConfigurationError

# The seed's config/production.js, in our units.
PRODUCTION_BREAKER = CircuitBreakerConfig(failure_threshold=10, timeout=120, monitoring_period=30)
PRODUCTION_RETRY = RetryConfig(max_retries=5, backoff_multiplier=2, max_backoff=60, initial_delay=2)


def assert_seed_production(config: EnterpriseSQSConfig) -> None:
    assert config.circuit_breaker == PRODUCTION_BREAKER
    assert config.retry == PRODUCTION_RETRY
    assert (config.circuit_breaker.timeout, config.retry.max_backoff) == (120.0, 60.0)
    assert config.region == "us-east-1"
    assert config.logging == LoggingConfig(level="info", structured=True)


def test_seed_production_from_code() -> None:
    config = EnterpriseSQSConfig(
        region="us-east-1",
        circuit_breaker=CircuitBreakerConfig(
            failure_threshold=10,
            timeout=timedelta(minutes=2),
            monitoring_period=timedelta(seconds=30),
        ),
        retry=RetryConfig(
            max_retries=5,
            backoff_multiplier=2,
            max_backoff=timedelta(minutes=1),
            initial_delay=timedelta(seconds=2),
        ),
        logging=LoggingConfig(level="INFO", structured=True),
    )
    assert_seed_production(config)


def test_seed_production_from_environment_in_milliseconds() -> None:
    env = {
        "AWS_REGION": "us-east-1",
        "ESQS_CIRCUIT_BREAKER_FAILURE_THRESHOLD": "10",
        "ESQS_CIRCUIT_BREAKER_TIMEOUT_MS": "120000",
        "ESQS_CIRCUIT_BREAKER_MONITORING_PERIOD_MS": "30000",
        "ESQS_RETRY_MAX_RETRIES": "5",
        "ESQS_RETRY_BACKOFF_MULTIPLIER": "2",
        "ESQS_RETRY_MAX_BACKOFF_MS": "60000",
        "ESQS_RETRY_INITIAL_DELAY_MS": "2000",
        "ESQS_LOGGING_LEVEL": "info",
        "ESQS_LOGGING_STRUCTURED": "true",
    }
    assert_seed_production(EnterpriseSQSConfig.from_env(env))


def test_seed_production_from_environment_in_seconds() -> None:
    env = {
        "ESQS_REGION": "us-east-1",
        "AWS_REGION": "eu-west-1",  # ESQS_REGION wins
        "ESQS_CIRCUIT_BREAKER_FAILURE_THRESHOLD": "10",
        "ESQS_CIRCUIT_BREAKER_TIMEOUT": "120",
        "ESQS_CIRCUIT_BREAKER_MONITORING_PERIOD": "30.0",
        "ESQS_RETRY_MAX_RETRIES": "5",
        "ESQS_RETRY_MAX_BACKOFF": "60",
        "ESQS_RETRY_INITIAL_DELAY": "2",
        "ESQS_LOGGING_STRUCTURED": "yes",
    }
    assert_seed_production(EnterpriseSQSConfig.from_env(env))


SEED_TOML = """
backend = "aws://"

[circuit_breaker]
failure_threshold = 5

[logging]
level = "debug"

[production]
region = "us-east-1"

[production.circuit_breaker]
failure_threshold = 10
timeout_ms = 120000
monitoring_period_ms = 30000

[production.retry]
max_retries = 5
backoff_multiplier = 2
max_backoff_ms = 60000
initial_delay = 2

[production.logging]
level = "info"
structured = true

[development]
backend = "memory://"
"""


def test_seed_production_from_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "esqs.toml"
    path.write_text(SEED_TOML)
    production = EnterpriseSQSConfig.from_file(path, environment="production")
    assert_seed_production(production)
    assert production.backend == "aws://"
    development = EnterpriseSQSConfig.from_file(path, environment="development")
    assert development.backend == "memory://"
    assert development.circuit_breaker.failure_threshold == 5
    assert development.logging.level == "debug"
    assert development.region is None


def test_seed_production_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "esqs.json"
    path.write_text(
        json.dumps(
            {
                "production": {
                    "region": "us-east-1",
                    "circuit_breaker": {
                        "failure_threshold": 10,
                        "timeout": 120,
                        "monitoring_period": 30,
                    },
                    "retry": {
                        "max_retries": 5,
                        "backoff_multiplier": 2,
                        "max_backoff_ms": 60000,
                        "initial_delay_ms": 2000,
                    },
                    "logging": {"level": "info", "structured": True},
                }
            }
        )
    )
    assert_seed_production(EnterpriseSQSConfig.from_file(path, environment="production"))


def test_load_layers_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "esqs.toml"
    path.write_text(SEED_TOML)
    env = {
        "ESQS_CONFIG_FILE": str(path),
        "ESQS_ENV": "production",
        "ESQS_CIRCUIT_BREAKER_TIMEOUT": "90",  # overrides the file's timeout_ms
        "ESQS_RETRY_MAX_RETRIES": "7",
    }
    config = EnterpriseSQSConfig.load(environ=env)
    assert config.circuit_breaker.timeout == 90.0
    assert config.circuit_breaker.failure_threshold == 10
    assert config.retry.max_retries == 7
    assert config.retry.max_backoff == 60.0
    assert EnterpriseSQSConfig.load(environ={}) == EnterpriseSQSConfig()


def test_defaults() -> None:
    config = EnterpriseSQSConfig()
    assert config.backend == "memory://"
    assert config.credentials is None and config.region is None
    assert config.circuit_breaker.effective_probe_timeout == config.circuit_breaker.timeout
    assert config.replace(region="eu-west-1").region == "eu-west-1"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: CircuitBreakerConfig(failure_threshold=0),
            r"circuit_breaker\.failure_threshold must be between 1 and 10000, got 0",
        ),
        (
            lambda: CircuitBreakerConfig(failure_threshold=2.5),  # type: ignore[arg-type]  # on purpose
            r"failure_threshold must be an integer",
        ),
        (
            lambda: CircuitBreakerConfig(timeout=0),
            r"circuit_breaker\.timeout must be > 0 and ≤ 86400 seconds",
        ),
        (lambda: CircuitBreakerConfig(timeout=120000), r"circuit_breaker\.timeout .* got 120000"),
        (
            lambda: CircuitBreakerConfig(monitoring_period="30"),  # type: ignore[arg-type]  # on purpose
            r"monitoring_period must be a number of seconds",
        ),
        (
            lambda: CircuitBreakerConfig(failure_rate_threshold=1.5),
            r"failure_rate_threshold must be > 0 and ≤ 1",
        ),
        (
            lambda: CircuitBreakerConfig(half_open_max_calls=0),
            r"half_open_max_calls must be between 1 and 1000",
        ),
        (
            lambda: CircuitBreakerConfig(enabled="yes"),  # type: ignore[arg-type]  # on purpose
            r"enabled must be true or false",
        ),
        (lambda: RetryConfig(max_retries=-1), r"retry\.max_retries must be between 0 and 100"),
        (lambda: RetryConfig(max_retries=True), r"retry\.max_retries must be an integer"),
        (lambda: RetryConfig(backoff_multiplier=0.5), r"retry\.backoff_multiplier must be ≥ 1"),
        (
            lambda: RetryConfig(initial_delay=10, max_backoff=5),
            r"max_backoff \(5 s\) must be ≥ retry\.initial_delay \(10 s\)",
        ),
        (lambda: RetryConfig(initial_delay=float("nan")), r"initial_delay"),
        (lambda: RetryConfig(deadline=-1), r"retry\.deadline"),
        (lambda: LoggingConfig(level="loud"), r"logging\.level must be one of debug, info"),
        (lambda: EnterpriseSQSConfig(backend="ftp://x"), r"backend must be a URL with scheme"),
        (lambda: EnterpriseSQSConfig(region="Mars"), r"region must look like 'us-east-1'"),
        (
            lambda: EnterpriseSQSConfig(endpoint_url="localhost:4566"),
            r"endpoint_url must be an http",
        ),
        (
            lambda: EnterpriseSQSConfig(retry={"max_retries": 1}),  # type: ignore[arg-type]  # on purpose
            r"retry must be a RetryConfig",
        ),
    ],
)
def test_bad_values_are_refused_naming_field_and_range(build: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()  # type: ignore[operator]  # parametrized as object


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"retry": {"maxRetries": 5}},
            r"unknown key retry\.maxRetries .*did you mean 'max_retries'",
        ),
        ({"circuit_breaker": {"timeout": 120, "timeout_ms": 120000}}, r"given twice"),
        (
            {"circuit_breaker": {"timeout_ms": "fast"}},
            r"circuit_breaker\.timeout_ms must be a number of milliseconds",
        ),
        (
            {"circuit_breaker": {"failure_threshold": 0}},
            r"^test: circuit_breaker\.failure_threshold",
        ),
        ({"retries": {}}, r"unknown key 'retries'"),
        ({"retry": 5}, r"\[retry\] must be a table"),
        ({"region": 5}, r"region must be a string"),
    ],
)
def test_bad_mappings_name_the_source_and_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        EnterpriseSQSConfig.from_mapping(data, source="test")


def test_bad_environment_values_are_refused() -> None:
    with pytest.raises(
        ConfigurationError, match=r"environment: .*failure_threshold must be an integer"
    ):
        EnterpriseSQSConfig.from_env({"ESQS_CIRCUIT_BREAKER_FAILURE_THRESHOLD": "ten"})
    with pytest.raises(ConfigurationError, match=r"unknown key retry\.max_retry"):
        EnterpriseSQSConfig.from_env({"ESQS_RETRY_MAX_RETRY": "5"})


def test_bad_files_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[retry\nmax_retries = 1")
    with pytest.raises(ConfigurationError, match="malformed"):
        EnterpriseSQSConfig.from_file(broken)
    with pytest.raises(ConfigurationError, match="cannot read"):
        EnterpriseSQSConfig.from_file(tmp_path / "missing.toml")
    yaml = tmp_path / "c.yaml"
    yaml.write_text("a: 1")
    with pytest.raises(ConfigurationError, match=r"\.toml or \.json"):
        EnterpriseSQSConfig.from_file(yaml)
    good = tmp_path / "ok.json"
    good.write_text("{}")
    with pytest.raises(ConfigurationError, match="environment must be one of"):
        EnterpriseSQSConfig.from_file(good, environment="prod")


def test_secrets_never_in_repr_or_errors(tmp_path: Path) -> None:
    config = EnterpriseSQSConfig(
        credentials=Credentials(access_key_id="AKIAEXAMPLE1234", secret_access_key="s3cr3t-value")
    )
    assert "s3cr3t" not in repr(config)
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            {
                "credentials": {
                    "access_key_id": "AKIAX",
                    "secret_access_key": "s3cr3t",
                    "token": "t0k3n",
                }
            }
        )
    )
    with pytest.raises(ConfigurationError) as info:
        EnterpriseSQSConfig.from_file(path)
    assert "t0k3n" not in str(info.value) and "s3cr3t" not in str(info.value)
    path.write_text(
        json.dumps({"credentials": {"access_key_id": "AKIAX", "secret_access_key": "s3cr3t"}})
    )
    loaded = EnterpriseSQSConfig.from_file(path)
    assert loaded.credentials is not None and "s3cr3t" not in repr(loaded)


def test_configs_are_frozen_and_compare_by_value() -> None:
    config = RetryConfig(max_retries=2)
    with pytest.raises(AttributeError):
        config.max_retries = 3  # type: ignore[misc]  # proving it is frozen
    assert RetryConfig(initial_delay=timedelta(seconds=2)) == RetryConfig(initial_delay=2)
    assert "max_retries=2" in repr(config)
