"""One settings object, read once at process start and passed down.

Every knob has a documented default and an environment variable; nothing below
this module reads ``os.environ``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PACKAGED_RUNBOOKS = Path(__file__).parent / "runbooks"

CsvList = Annotated[list[str], NoDecode]


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Process configuration. Env names are in ``validation_alias``/``REMEDIATOR_*``."""

    model_config = SettingsConfigDict(env_prefix="REMEDIATOR_", extra="ignore")

    temporal_address: str = Field(
        "127.0.0.1:7233", validation_alias=AliasChoices("TEMPORAL_ADDRESS", "temporal_address")
    )
    temporal_namespace: str = Field(
        "default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "temporal_namespace")
    )
    task_queue: str = "remediator"
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", validation_alias=AliasChoices("REDIS_URL", "redis_url")
    )
    http_addr: str = "127.0.0.1:8080"
    state_dir: Path = Path(".remediator")
    runbook_dir: Path = PACKAGED_RUNBOOKS

    # Webhook authentication: required whenever the server listens beyond loopback.
    webhook_token: SecretStr | None = None
    max_body_bytes: int = 1_000_000
    max_alerts_per_request: int = 500

    # Allow-lists of what mitigations may touch (fnmatch patterns).
    flag_allowlist: CsvList = Field(default_factory=list)
    flag_environment: str = "production"

    # Timings (seconds). Production waits minutes; tests configure seconds.
    verify_interval_seconds: float = 30.0
    verify_window_p0_p1_seconds: float = 15 * 60
    verify_window_p2_p3_seconds: float = 30 * 60
    mitigation_timeout_seconds: float = 120.0
    # After a worker dies, its cached workflows move to another worker after this long.
    sticky_timeout_seconds: float = 10.0

    # Notification sinks (Slack-compatible incoming webhooks); secrets, never logged.
    slack_webhook_urls: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)

    # Test-only fault injection: name of a crash point at which the worker SIGKILLs itself.
    crash_at: str | None = None

    _split = field_validator("flag_allowlist", "slack_webhook_urls", mode="before")(_split_csv)

    @property
    def http_host(self) -> str:
        return self.http_addr.rsplit(":", 1)[0]

    @property
    def http_port(self) -> int:
        return int(self.http_addr.rsplit(":", 1)[1])

    @property
    def postmortem_dir(self) -> Path:
        return self.state_dir / "postmortems"
