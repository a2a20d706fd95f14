"""Configuration: frozen, keyword-only, validated; from code, environment variables or a file.

The seed configures a client with ``region``, ``credentials``, ``circuitBreaker``, ``retry`` and
``logging`` (its ``config/production.js``). Here that is :class:`EnterpriseSQSConfig`, made of
:class:`CircuitBreakerConfig`, :class:`RetryConfig` and :class:`LoggingConfig`. Constructors only
validate; nothing reads the environment or a file unless asked
(:meth:`EnterpriseSQSConfig.from_env`, :meth:`~EnterpriseSQSConfig.from_file`,
:meth:`~EnterpriseSQSConfig.load`).

Units. Durations are **seconds** (a float or a :class:`~datetime.timedelta`). Files and environment
variables also accept the seed's millisecond spellings with an ``_ms`` suffix (``timeout_ms =
120000`` is ``timeout = 120``); giving both spellings of one field is an error.

Environment variables (every one optional; names are upper case)::

    ESQS_BACKEND                          backend URL (memory://, sqlite:///x.db, aws://REGION, http://...)
    ESQS_REGION                           region; else AWS_REGION, else AWS_DEFAULT_REGION
    ESQS_PROFILE                          AWS shared-config profile
    ESQS_ENDPOINT_URL                     an SQS-compatible endpoint
    ESQS_CONFIG_FILE                      file read by load() before the variables below
    ESQS_ENV                              the file's environment section (default: development)
    ESQS_CIRCUIT_BREAKER_<FIELD>[_MS]     e.g. ESQS_CIRCUIT_BREAKER_FAILURE_THRESHOLD=10
    ESQS_RETRY_<FIELD>[_MS]               e.g. ESQS_RETRY_MAX_BACKOFF_MS=60000
    ESQS_LOGGING_<FIELD>                  e.g. ESQS_LOGGING_LEVEL=info

Credentials are never read from ESQS_* variables: leave them unset and the AWS credential chain
reads ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (and session tokens, profiles, roles) itself.

Files are TOML (``.toml``) or JSON (``.json``). Top-level keys apply to every environment; a table
named ``development``, ``staging``, ``production`` or ``test`` overrides them for that
environment, field by field::

    backend = "aws://"
    [circuit_breaker]
    failure_threshold = 5

    [production]
    region = "us-east-1"
    [production.circuit_breaker]
    failure_threshold = 10
    timeout_ms = 120000          # the seed's spelling; same as timeout = 120

Every bad value raises :class:`~enterprise_sqs.errors.ConfigurationError` naming the field, the
value and what is allowed. ``repr`` never shows secrets.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from enterprise_sqs.config_sections import (
    CircuitBreakerConfig,
    LoggingConfig,
    RetryConfig,
    set_fields,
)
from enterprise_sqs.credentials import AssumeRole, Credentials
from enterprise_sqs.errors import ConfigurationError

__all__ = [
    "ENVIRONMENTS",
    "CircuitBreakerConfig",
    "EnterpriseSQSConfig",
    "LoggingConfig",
    "RetryConfig",
]

ENVIRONMENTS = ("development", "staging", "production", "test")
_SCHEMES = ("memory", "sqlite", "aws", "http", "https")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


@dataclass(frozen=True, init=False)
class EnterpriseSQSConfig:
    """Everything an :class:`EnterpriseSQS` instance needs. All arguments are keyword-only.

    Args:
        backend: where messages live, as a URL (default ``memory://``: the embedded engine).
        region: the AWS region (``us-east-1``); ``None`` lets the AWS chain decide.
        credentials: explicit credentials; ``None`` (recommended) uses the AWS credential chain.
        profile: an AWS shared-config profile name.
        endpoint_url: an SQS-compatible endpoint (moto, LocalStack, ``esqs serve``).
        circuit_breaker, retry, logging: the sections above.
        assume_role: an :class:`~enterprise_sqs.credentials.AssumeRole` (``role_arn``,
            ``role_session_name``, ``external_id``, ...): sign as that IAM role, with temporary
            credentials refreshed before they expire.
    """

    backend: str
    region: str | None
    credentials: Credentials | None
    profile: str | None
    endpoint_url: str | None
    circuit_breaker: CircuitBreakerConfig
    retry: RetryConfig
    logging: LoggingConfig
    assume_role: AssumeRole | None

    def __init__(
        self,
        *,
        backend: str = "memory://",
        region: str | None = None,
        credentials: Credentials | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        circuit_breaker: CircuitBreakerConfig | None = None,
        retry: RetryConfig | None = None,
        logging: LoggingConfig | None = None,
        assume_role: AssumeRole | None = None,
    ) -> None:
        if assume_role is not None and not isinstance(assume_role, AssumeRole):
            raise ConfigurationError(
                f"assume_role must be an AssumeRole or None, got {type(assume_role).__name__}"
            )
        if (
            not isinstance(backend, str)
            or backend.split("://", 1)[0].lower() not in _SCHEMES
            or ("://" not in backend)
        ):
            raise ConfigurationError(
                f"backend must be a URL with scheme {', '.join(s + '://' for s in _SCHEMES)}; "
                f"got {backend!r}"
            )
        if region is not None and (not isinstance(region, str) or not _REGION.match(region)):
            raise ConfigurationError(f"region must look like 'us-east-1', got {region!r}")
        if credentials is not None and not isinstance(credentials, Credentials):
            raise ConfigurationError(
                "credentials must be a Credentials instance or None, "
                f"got {type(credentials).__name__}"
            )
        if profile is not None and (not isinstance(profile, str) or not profile.strip()):
            raise ConfigurationError(f"profile must be a non-empty string or None, got {profile!r}")
        if endpoint_url is not None and (
            not isinstance(endpoint_url, str) or not re.match(r"^https?://[^/\s]+", endpoint_url)
        ):
            raise ConfigurationError(
                f"endpoint_url must be an http:// or https:// URL, got {endpoint_url!r}"
            )
        for key, value, cls in (
            ("circuit_breaker", circuit_breaker, CircuitBreakerConfig),
            ("retry", retry, RetryConfig),
            ("logging", logging, LoggingConfig),
        ):
            if value is not None and not isinstance(value, cls):
                raise ConfigurationError(
                    f"{key} must be a {cls.__name__} or None, got {type(value).__name__}"
                )
        set_fields(
            self,
            backend=backend,
            region=region,
            credentials=credentials,
            profile=profile,
            endpoint_url=endpoint_url,
            circuit_breaker=circuit_breaker or CircuitBreakerConfig(),
            retry=retry or RetryConfig(),
            logging=logging or LoggingConfig(),
            assume_role=assume_role,
        )

    def replace(self, **changes: Any) -> EnterpriseSQSConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    # -- loaders ----------------------------------------------------------------------------------

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, source: str = "mapping"
    ) -> EnterpriseSQSConfig:
        """Build from a nested mapping (the shape of a file without environment sections).

        Raises:
            ConfigurationError: an unknown key, a bad type or an out-of-range value.
        """
        return _build_config(data, source=source)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EnterpriseSQSConfig:
        """Build from ``ESQS_*`` environment variables (``AWS_REGION`` honoured) over defaults.

        Raises:
            ConfigurationError: a variable that cannot be parsed or is out of range.
        """
        env = os.environ if environ is None else environ
        return cls.from_mapping(_env_mapping(env), source="environment")

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], *, environment: str | None = None
    ) -> EnterpriseSQSConfig:
        """Build from a TOML or JSON file, applying the ``environment`` section over the base.

        ``environment`` defaults to ``$ESQS_ENV``, else ``development``.

        Raises:
            ConfigurationError: the file is unreadable, malformed, or holds bad values.
        """
        data = _file_mapping(Path(path), environment or os.environ.get("ESQS_ENV") or "development")
        return cls.from_mapping(data, source=str(path))

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        environment: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> EnterpriseSQSConfig:
        """Defaults, then the file (``path`` or ``$ESQS_CONFIG_FILE``, if any), then ``ESQS_*``
        variables on top: the usual twelve-factor precedence.

        Raises:
            ConfigurationError: as :meth:`from_file` and :meth:`from_env`.
        """
        env = os.environ if environ is None else environ
        file = path if path is not None else env.get("ESQS_CONFIG_FILE")
        data: dict[str, Any] = {}
        if file:
            name = environment or env.get("ESQS_ENV") or "development"
            data = _file_mapping(Path(file), name)
        merged = _deep_merge(data, _env_mapping(env))
        return cls.from_mapping(merged, source=str(file or "environment"))


# -- loading: mappings, environment variables, files -----------------------------------------------

_SECTIONS: dict[str, type[Any]] = {
    "circuit_breaker": CircuitBreakerConfig,
    "retry": RetryConfig,
    "logging": LoggingConfig,
}
_SECONDS_FIELDS = frozenset(
    {"timeout", "monitoring_period", "probe_timeout", "initial_delay", "max_backoff", "deadline"}
)
_TOP_STRINGS = ("backend", "region", "profile", "endpoint_url")


def _section_values(section: str, data: object, source: str) -> dict[str, Any]:
    """Map a section's keys to constructor arguments, turning ``*_ms`` spellings into seconds."""
    cls = _SECTIONS[section]
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{source}: [{section}] must be a table, got {data!r}")
    known = {f.name for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = key
        if key.endswith("_ms") and key[:-3] in _SECONDS_FIELDS & known:
            name = key[:-3]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigurationError(
                    f"{source}: {section}.{key} must be a number of milliseconds, got {value!r}"
                )
            value = value / 1000.0
        if name not in known:
            hint = re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()
            extra = (
                f"; did you mean {hint!r}?"
                if hint != key and hint in known | {k + "_ms" for k in known & _SECONDS_FIELDS}
                else ""
            )
            raise ConfigurationError(
                f"{source}: unknown key {section}.{key} (known: {', '.join(sorted(known))}){extra}"
            )
        if name in values:
            raise ConfigurationError(
                f"{source}: {section}.{name} is given twice (in seconds and in milliseconds)"
            )
        values[name] = value
    return values


def _build_config(data: Mapping[str, Any], *, source: str) -> EnterpriseSQSConfig:
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{source}: configuration must be a table/object, got {data!r}")
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in _SECTIONS:
            try:
                kwargs[key] = _SECTIONS[key](**_section_values(key, value, source))
            except ConfigurationError as exc:
                raise ConfigurationError(f"{source}: {exc}") from None
        elif key in _TOP_STRINGS:
            if value is not None and not isinstance(value, str):
                raise ConfigurationError(f"{source}: {key} must be a string, got {value!r}")
            kwargs[key] = value
        elif key == "credentials":
            kwargs[key] = _credentials(value, source)
        elif key == "assume_role":
            kwargs[key] = _assume_role(value, source)
        else:
            known = ", ".join((*_TOP_STRINGS, "credentials", "assume_role", *_SECTIONS))
            raise ConfigurationError(f"{source}: unknown key {key!r} (known: {known})")
    try:
        return EnterpriseSQSConfig(**kwargs)
    except ConfigurationError as exc:
        if str(exc).startswith(source):
            raise
        raise ConfigurationError(f"{source}: {exc}") from None


def _credentials(value: object, source: str) -> Credentials | None:
    if value is None or isinstance(value, Credentials):
        return value
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"{source}: credentials must be a table, got a {type(value).__name__}"
        )
    allowed = {"access_key_id", "secret_access_key", "session_token"}
    unknown = set(value) - allowed
    if unknown:
        # Never echo values here: they may be secrets.
        raise ConfigurationError(
            f"{source}: unknown credentials keys {sorted(unknown)} (known: {sorted(allowed)})"
        )
    return Credentials(**value)


def _assume_role(value: object, source: str) -> AssumeRole | None:
    if value is None or isinstance(value, AssumeRole):
        return value
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"{source}: assume_role must be a table, got a {type(value).__name__}"
        )
    allowed = {f.name for f in fields(AssumeRole)}
    unknown = set(value) - allowed
    if unknown:
        raise ConfigurationError(
            f"{source}: unknown assume_role keys {sorted(unknown)} (known: {sorted(allowed)})"
        )
    return AssumeRole(**value)


def _parse_env_value(raw: str) -> Any:
    """Environment values are strings; read numbers and booleans the way a person writes them."""
    text = raw.strip()
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered in ("", "none", "null"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _env_mapping(env: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    region = env.get("ESQS_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        data["region"] = region
    for key in ("backend", "profile", "endpoint_url"):
        value = env.get(f"ESQS_{key.upper()}")
        if value:
            data[key] = value
    for section in _SECTIONS:
        prefix = f"ESQS_{section.upper()}_"
        for name, raw in env.items():
            if not name.startswith(prefix):
                continue
            field = name[len(prefix) :].lower()
            value = _parse_env_value(raw)
            if value is None:
                continue
            data.setdefault(section, {})[field] = value
    return data


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            section = dict(merged[key])
            # A field given in one unit overrides the same field given in the other unit.
            for sub in value:
                twin = sub[:-3] if sub.endswith("_ms") else sub + "_ms"
                section.pop(twin, None)
            section.update(value)
            merged[key] = section
        else:
            merged[key] = value
    return merged


def _file_mapping(path: Path, environment: str) -> dict[str, Any]:
    if environment not in ENVIRONMENTS:
        raise ConfigurationError(
            f"environment must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read configuration file {str(path)!r}: {exc}") from exc
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(raw.decode("utf-8"))
        elif suffix == ".json":
            data = json.loads(raw)
        else:
            raise ConfigurationError(f"configuration file {str(path)!r} must end in .toml or .json")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"configuration file {str(path)!r} is malformed: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"configuration file {str(path)!r} must hold a table/object")
    base = {k: v for k, v in data.items() if k not in ENVIRONMENTS}
    section = data.get(environment, {})
    if not isinstance(section, Mapping):
        raise ConfigurationError(f"{path}: [{environment}] must be a table")
    return _deep_merge(base, section)
