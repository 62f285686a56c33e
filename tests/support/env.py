"""Settings → environment variables, for worker processes started by tests."""

from __future__ import annotations

import os

from remediator.settings import Settings

_ALIASES = {"temporal_address": "TEMPORAL_ADDRESS", "temporal_namespace": "TEMPORAL_NAMESPACE",
            "redis_url": "REDIS_URL"}


def settings_env(settings: Settings, **overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        key = _ALIASES.get(name, f"REMEDIATOR_{name.upper()}")
        env[key] = ",".join(value) if isinstance(value, list) else str(value)
    for secret in ("webhook_token",):
        raw = getattr(settings, secret)
        if raw is not None:
            env[f"REMEDIATOR_{secret.upper()}"] = raw.get_secret_value()
    env.update(overrides)
    return env
