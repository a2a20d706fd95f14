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
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

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
_DAY = 86_400.0
_LEVELS = ("debug", "info", "warning", "error", "critical")
_SCHEMES = ("memory", "sqlite", "aws", "http", "https")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")

Seconds = float | timedelta


# -- validation helpers ---------------------------------------------------------------------------


def _seconds(
    where: str, value: object, *, low: float, high: float, allow_zero: bool = False
) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(
            f"{where} must be a number of seconds or a timedelta, got {value!r}"
        )
    number = float(value)
    lower_ok = number >= low if allow_zero else number > low
    if math.isnan(number) or not lower_ok or number > high:
        bound = "≥" if allow_zero else ">"
        raise ConfigurationError(
            f"{where} must be {bound} {low:g} and ≤ {high:g} seconds, got {value!r}"
        )
    return number


def _integer(where: str, value: object, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{where} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigurationError(f"{where} must be between {low} and {high}, got {value!r}")
    return value


def _number(where: str, value: object, *, low: float, high: float, open_low: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{where} must be a number, got {value!r}")
    number = float(value)
    lower_ok = number > low if open_low else number >= low
    if math.isnan(number) or not lower_ok or number > high:
        bound = ">" if open_low else "≥"
        raise ConfigurationError(f"{where} must be {bound} {low:g} and ≤ {high:g}, got {value!r}")
    return number


def _boolean(where: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{where} must be true or false, got {value!r}")
    return value


def _set(obj: object, **values: object) -> None:
    # Frozen dataclasses with a hand-written __init__ (to accept timedelta and normalise to
    # float seconds) must assign through object.__setattr__.
    for key, value in values.items():
        object.__setattr__(obj, key, value)


# -- the sections ---------------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class CircuitBreakerConfig:
    """How a :class:`~enterprise_sqs.resilience.CircuitBreaker` trips and recovers.

    Args:
        failure_threshold: failures within ``monitoring_period`` that open the breaker (1-10000).
        timeout: seconds the breaker stays OPEN before one probe may pass (HALF_OPEN).
        monitoring_period: the rolling window, in seconds, failures are counted in.
        half_open_max_calls: probes allowed at the same time while HALF_OPEN (1-1000).
        success_threshold: successful probes that close the breaker again (1-1000).
        failure_rate_threshold: optionally also open when this fraction (0-1] of the calls in
            the window failed, once the window holds at least ``minimum_throughput`` calls.
        minimum_throughput: calls the window must hold before the rate rule applies.
        probe_timeout: seconds a HALF_OPEN probe may hold its slot (default: ``timeout``); a
            probe that never finishes gives its slot back then, so the breaker cannot get stuck.
        enabled: ``False`` lets every call through and records nothing.
    """

    failure_threshold: int
    timeout: float
    monitoring_period: float
    half_open_max_calls: int
    success_threshold: int
    failure_rate_threshold: float | None
    minimum_throughput: int
    probe_timeout: float | None
    enabled: bool

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        timeout: Seconds = 60.0,
        monitoring_period: Seconds = 10.0,
        half_open_max_calls: int = 1,
        success_threshold: int = 1,
        failure_rate_threshold: float | None = None,
        minimum_throughput: int = 20,
        probe_timeout: Seconds | None = None,
        enabled: bool = True,
    ) -> None:
        w = "circuit_breaker."
        _set(
            self,
            failure_threshold=_integer(
                w + "failure_threshold", failure_threshold, low=1, high=10_000
            ),
            timeout=_seconds(w + "timeout", timeout, low=0.0, high=_DAY),
            monitoring_period=_seconds(
                w + "monitoring_period", monitoring_period, low=0.0, high=_DAY
            ),
            half_open_max_calls=_integer(
                w + "half_open_max_calls", half_open_max_calls, low=1, high=1000
            ),
            success_threshold=_integer(
                w + "success_threshold", success_threshold, low=1, high=1000
            ),
            failure_rate_threshold=None
            if failure_rate_threshold is None
            else _number(
                w + "failure_rate_threshold",
                failure_rate_threshold,
                low=0.0,
                high=1.0,
                open_low=True,
            ),
            minimum_throughput=_integer(
                w + "minimum_throughput", minimum_throughput, low=1, high=10_000_000
            ),
            probe_timeout=None
            if probe_timeout is None
            else _seconds(w + "probe_timeout", probe_timeout, low=0.0, high=_DAY),
            enabled=_boolean(w + "enabled", enabled),
        )

    @property
    def effective_probe_timeout(self) -> float:
        return self.timeout if self.probe_timeout is None else self.probe_timeout


@dataclass(frozen=True, init=False)
class RetryConfig:
    """How failed calls are retried: exponential backoff with full jitter, bounded three ways.

    The n-th retry (n = 0, 1, ...) waits ``uniform(0, min(max_backoff, initial_delay *
    backoff_multiplier ** n))`` seconds.

    Args:
        max_retries: retries after the first attempt (0-100; 0 disables retrying).
        initial_delay: the backoff ceiling for the first retry, in seconds (0-3600).
        backoff_multiplier: growth of the ceiling per retry (1-100).
        max_backoff: the largest ceiling, in seconds (≥ initial_delay, ≤ 3600).
        deadline: no retry starts if its backoff would end more than this many seconds after
            the first attempt began (``None``: no deadline).
        budget_ratio: retries earned per successful call (0-10; 0.2 = retries add at most 20%).
        budget_min_per_second: retries always allowed per second regardless (the floor).
        budget_capacity: the most retry tokens that can be saved up (≥ 1).
    """

    max_retries: int
    initial_delay: float
    backoff_multiplier: float
    max_backoff: float
    deadline: float | None
    budget_ratio: float
    budget_min_per_second: float
    budget_capacity: float

    def __init__(
        self,
        *,
        max_retries: int = 3,
        initial_delay: Seconds = 0.1,
        backoff_multiplier: float = 2.0,
        max_backoff: Seconds = 20.0,
        deadline: Seconds | None = None,
        budget_ratio: float = 0.2,
        budget_min_per_second: float = 10.0,
        budget_capacity: float = 100.0,
    ) -> None:
        w = "retry."
        initial = _seconds(
            w + "initial_delay", initial_delay, low=0.0, high=3600.0, allow_zero=True
        )
        cap = _seconds(w + "max_backoff", max_backoff, low=0.0, high=3600.0, allow_zero=True)
        if cap < initial:
            raise ConfigurationError(
                f"retry.max_backoff ({cap:g} s) must be ≥ retry.initial_delay ({initial:g} s)"
            )
        _set(
            self,
            max_retries=_integer(w + "max_retries", max_retries, low=0, high=100),
            initial_delay=initial,
            backoff_multiplier=_number(
                w + "backoff_multiplier", backoff_multiplier, low=1.0, high=100.0, open_low=False
            ),
            max_backoff=cap,
            deadline=None
            if deadline is None
            else _seconds(w + "deadline", deadline, low=0.0, high=_DAY),
            budget_ratio=_number(
                w + "budget_ratio", budget_ratio, low=0.0, high=10.0, open_low=False
            ),
            budget_min_per_second=_number(
                w + "budget_min_per_second",
                budget_min_per_second,
                low=0.0,
                high=1e6,
                open_low=False,
            ),
            budget_capacity=_number(
                w + "budget_capacity", budget_capacity, low=1.0, high=1e9, open_low=False
            ),
        )


@dataclass(frozen=True, init=False)
class LoggingConfig:
    """Logging preferences for applications and the ``esqs`` CLI.

    The library itself never configures logging (it only logs through ``logging.getLogger``);
    these values are read by the CLI and by the opt-in JSON logging helper.

    Args:
        level: ``debug``, ``info``, ``warning``, ``error`` or ``critical`` (any case).
        structured: emit one JSON object per line instead of text.
    """

    level: Literal["debug", "info", "warning", "error", "critical"]
    structured: bool

    def __init__(self, *, level: str = "info", structured: bool = False) -> None:
        if not isinstance(level, str) or level.lower() not in _LEVELS:
            raise ConfigurationError(
                f"logging.level must be one of {', '.join(_LEVELS)}, got {level!r}"
            )
        _set(self, level=level.lower(), structured=_boolean("logging.structured", structured))


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
        _set(
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
