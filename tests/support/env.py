"""Settings → environment variables, for worker processes started by tests."""

from __future__ import annotations

import json
import os

from pydantic import BaseModel, SecretStr

from remediator.settings import Settings

_ALIASES = {"temporal_address": "TEMPORAL_ADDRESS", "temporal_namespace": "TEMPORAL_NAMESPACE",
            "redis_url": "REDIS_URL", "prometheus_url": "PROMETHEUS_URL"}


def _reveal(value: object) -> object:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return {k: _reveal(v) for k, v in value}
    if isinstance(value, list):
        return [_reveal(v) for v in value]
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    return value


def _plain(value: object) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if isinstance(value, list):
        return json.dumps(_reveal(value), default=str)
    if isinstance(value, dict):
        return json.dumps(_reveal(value))
    return str(value)


def settings_env(settings: Settings, **overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is not None and value != [] and value != {}:
            env[_ALIASES.get(name, f"REMEDIATOR_{name.upper()}")] = _plain(value)
    env.update(overrides)
    return env
