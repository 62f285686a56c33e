"""One settings object, read once at process start and passed down.

Every knob has a documented default and an environment variable; nothing below
this module reads ``os.environ``.
"""

from __future__ import annotations

import hmac
import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from remediator.models.comms import Audience, CommsPolicy, SinkRef
from remediator.models.guard import GUARD_WORKFLOW_ID, GuardPolicy
from remediator.severity import TABLE, Severity

PACKAGED_RUNBOOKS = Path(__file__).parent / "runbooks" / "library"

CsvList = Annotated[list[str], NoDecode]
# The sink of incident channels, added when a Slack bot token is configured.
INCIDENT_CHANNELS = "incident-channel"

# REMEDIATOR_GUARD_* settings the incidents use themselves, not the guard's policy.
INCIDENT_SIDE = frozenset({"guard_workflow_id", "guard_lock_wait_seconds", "guard_slot_wait_seconds"})


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class SinkConfig(BaseModel):
    """A notification sink with its secrets, as configured on the worker.

    ``REMEDIATOR_SINKS`` is a JSON list of these, e.g.
    ``[{"name": "oncall", "kind": "slack", "url": "https://hooks…", "severities": ["P0", "P1"]}]``.
    """

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    kind: Literal["slack", "email", "sns", "statuspage", "slack_channel"]
    severities: list[Severity] = Field(default_factory=lambda: list(Severity))
    audience: Audience = Audience.INTERNAL
    url: SecretStr | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    sender: str = "remediator@localhost"
    recipients: list[str] = Field(default_factory=list)
    topic_arn: str | None = None
    # Atlassian Statuspage (kind "statuspage", audience "customer"): the page, its API
    # key (``Authorization: OAuth <key>``; a secret, never logged), the API's base URL,
    # and the component id of each service (services without one change no component).
    page_id: str | None = None
    api_key: SecretStr | None = None
    base_url: str = "https://api.statuspage.io/v1"
    components: dict[str, str] = Field(default_factory=dict)

    def ref(self) -> SinkRef:
        return SinkRef(name=self.name, kind=self.kind, severities=self.severities,
                       audience=self.audience)


MIN_GC_SECONDS = 0.1


class Settings(BaseSettings):
    """Process configuration. Env names are in ``validation_alias``/``REMEDIATOR_*``.

    Mitigation scope: REMEDIATOR_FLAG_ALLOWLIST, REMEDIATOR_CACHE_ALLOWLIST ("db:N",
    "all", key globs), REMEDIATOR_CACHE_REDIS_URL (default REDIS_URL),
    REMEDIATOR_ASG_ALLOWLIST, REMEDIATOR_ASG_MAX_CAPACITY, REMEDIATOR_LAMBDA_ALLOWLIST,
    REMEDIATOR_SSM_FLAG_PREFIX, REMEDIATOR_AWS_REGION; AWS credentials and
    AWS_ENDPOINT_URL are boto3's standard environment. Kubernetes: KUBECONFIG,
    REMEDIATOR_KUBE_CONTEXT, REMEDIATOR_KUBE_ALLOWLIST, REMEDIATOR_KUBE_MAX_REPLICAS.
    PostgreSQL: REMEDIATOR_POSTGRES_DSNS, REMEDIATOR_POSTGRES_ALLOWLIST. HAProxy:
    REMEDIATOR_HAPROXY_SOCKET, REMEDIATOR_HAPROXY_ALLOWLIST. Alertmanager:
    ALERTMANAGER_URL, REMEDIATOR_SILENCE_ALLOWLIST.
    """

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
    # Alert groups: how long a group with nothing open remembers its occurrences (links
    # a recurrence to the previous incident), and how often counted duplicates are
    # passed on to their incident.
    group_memory_seconds: float = Field(7 * 86_400.0, ge=0)
    duplicate_flush_seconds: float = Field(2.0, gt=0)
    # Prometheus HTTP API for verification metrics (env PROMETHEUS_URL).
    prometheus_url: str = Field(
        "http://127.0.0.1:9090", validation_alias=AliasChoices("PROMETHEUS_URL", "prometheus_url")
    )
    state_dir: Path = Path(".remediator")
    runbook_dir: Path = PACKAGED_RUNBOOKS

    # Webhook authentication: required whenever the server listens beyond loopback.
    webhook_token: SecretStr | None = None
    # PagerDuty V3 webhook signing secrets (REMEDIATOR_PAGERDUTY_SECRETS, comma-separated
    # while one rotates): a valid X-PagerDuty-Signature stands in for the bearer token.
    pagerduty_secrets: SecretStr | None = None
    # PagerDuty deliveries whose event occurred longer ago than this (or more than
    # PAGERDUTY_MAX_FUTURE_SECONDS ahead) are refused as possible replays
    # (REMEDIATOR_PAGERDUTY_MAX_AGE_SECONDS); delivery ids are remembered this long.
    pagerduty_max_age_seconds: float = Field(30 * 60.0, gt=0)
    # Reads (GET /v1/incidents/{id}) need a valid API token (REMEDIATOR_API_TOKENS)
    # whenever the server listens beyond loopback; REMEDIATOR_READS_NEED_TOKEN=true asks
    # for one on loopback too (e.g. behind a reverse proxy). It cannot open reads up.
    reads_need_token: bool = False
    max_body_bytes: int = 1_000_000
    max_alerts_per_request: int = 500

    # Allow-lists of what mitigations may touch (fnmatch patterns).
    flag_allowlist: CsvList = Field(default_factory=list)
    flag_environment: str = "production"
    # Flags with ``store: ssm`` live at <prefix>/<environment>/<flag> in SSM Parameter Store.
    ssm_flag_prefix: str = "/remediator/flags"

    # Cache flushes (REMEDIATOR_CACHE_ALLOWLIST): "db:N" allows FLUSHDB of database N,
    # "all" allows FLUSHALL, any other entry is a key glob pattern deletes may touch,
    # e.g. "db:1,session:*". The cache may be another Redis than the remediator's own
    # (REMEDIATOR_CACHE_REDIS_URL, default: REDIS_URL).
    cache_allowlist: CsvList = Field(default_factory=list)
    cache_redis_url: str | None = None

    # AWS via boto3: credentials and AWS_ENDPOINT_URL come from the standard AWS
    # environment; region from REMEDIATOR_AWS_REGION, else AWS_REGION/AWS_DEFAULT_REGION,
    # else us-east-1. Which Auto Scaling groups / Lambda functions may be touched
    # (REMEDIATOR_ASG_ALLOWLIST, REMEDIATOR_LAMBDA_ALLOWLIST, fnmatch patterns), and the
    # most instances a mitigation may ask an ASG for (REMEDIATOR_ASG_MAX_CAPACITY).
    aws_region: str | None = None
    asg_allowlist: CsvList = Field(default_factory=list)
    asg_max_capacity: int = Field(20, ge=0)
    lambda_allowlist: CsvList = Field(default_factory=list)

    # Kubernetes: the kubeconfig (REMEDIATOR_KUBECONFIG or KUBECONFIG; else ~/.kube/config,
    # else the in-cluster service account) and its context (REMEDIATOR_KUBE_CONTEXT); which
    # Deployments may be touched, as "namespace/deployment" fnmatch patterns
    # (REMEDIATOR_KUBE_ALLOWLIST, e.g. "production/api-*,staging/*"); the most replicas a
    # scale may ask for (REMEDIATOR_KUBE_MAX_REPLICAS).
    kubeconfig: str | None = Field(None, validation_alias=AliasChoices(
        "REMEDIATOR_KUBECONFIG", "KUBECONFIG", "kubeconfig"))
    kube_context: str | None = None
    kube_allowlist: CsvList = Field(default_factory=list)
    kube_max_replicas: int = Field(50, ge=0)

    # PostgreSQL: the databases queries may be cancelled/terminated on, by name, as JSON
    # (REMEDIATOR_POSTGRES_DSNS='{"orders": "postgresql://remediator:…@db1:5432/orders"}';
    # DSNs are secrets, never logged), and which "name/datname" pairs steps may act on
    # (REMEDIATOR_POSTGRES_ALLOWLIST, fnmatch patterns, e.g. "orders/*").
    postgres_dsns: dict[str, SecretStr] = Field(default_factory=dict)
    postgres_allowlist: CsvList = Field(default_factory=list)

    # HAProxy runtime API: its stats socket ("/run/haproxy/admin.sock", needs
    # ``level admin``) or "host:port" (REMEDIATOR_HAPROXY_SOCKET), and which
    # "backend/server" pairs steps may change (REMEDIATOR_HAPROXY_ALLOWLIST, fnmatch).
    haproxy_socket: str | None = None
    haproxy_allowlist: CsvList = Field(default_factory=list)

    # Alertmanager's API (ALERTMANAGER_URL, e.g. "http://alertmanager:9093"; default
    # unset: the still-firing check asks only the incident, ``alertmanager.silence`` is
    # refused), and which alertnames steps may silence (REMEDIATOR_SILENCE_ALLOWLIST,
    # fnmatch globs; a silence must name its alertname with "=").
    alertmanager_url: str | None = Field(None, validation_alias=AliasChoices(
        "ALERTMANAGER_URL", "REMEDIATOR_ALERTMANAGER_URL", "alertmanager_url"))
    silence_allowlist: CsvList = Field(default_factory=list)

    # Approvals: who may approve risky steps (users and ``group:NAME``), group members
    # as JSON ({"sre": ["alice"]}), and the decision deadline per severity (seconds).
    approvers: CsvList = Field(default_factory=list)
    approver_groups: dict[str, list[str]] = Field(default_factory=dict)
    approval_deadline_p0_seconds: float = TABLE[Severity.P0].response_seconds
    approval_deadline_p1_seconds: float = TABLE[Severity.P1].response_seconds
    approval_deadline_p2_seconds: float = TABLE[Severity.P2].response_seconds
    approval_deadline_p3_seconds: float = TABLE[Severity.P3].response_seconds
    # Identities: "user=token,user2=token2" (secret). The HTTP API and the CLI
    # authenticate users by these tokens, and each token is also its user's signing key
    # for decisions: the worker needs the same list to check signed approvals.
    api_tokens: SecretStr | None = None
    # The CLI's own token (REMEDIATOR_API_TOKEN), else the file REMEDIATOR_API_TOKEN_FILE
    # (default ~/.config/remediator/token).
    api_token: SecretStr | None = None
    api_token_file: Path = Path("~/.config/remediator/token")
    # Accept unsigned approve/reject signals and decide updates, trusting the approver
    # named in them: only when Temporal itself authenticates and authorizes every
    # client (mTLS + an authorizer that limits who may signal). Default: refuse them.
    trust_temporal_identity: bool = False
    # A signed decision older than this (or issued in the future) is refused.
    decision_max_age_seconds: float = Field(3600.0, gt=0)
    # The workers' shared secret that seals the signals remediator's workflows send each
    # other (REMEDIATOR_INTERNAL_KEY; every worker of a deployment needs the same one).
    # Unset, a key file in the state directory is used (made on first start). Keys that
    # sealed signals of still-open incidents stay accepted in
    # REMEDIATOR_INTERNAL_KEYS_PREVIOUS (comma-separated) after a rotation.
    internal_key: SecretStr | None = None
    internal_keys_previous: SecretStr | None = None

    # Timings (seconds). Production waits minutes; tests configure seconds.
    verify_interval_seconds: float = 30.0
    verify_window_p0_p1_seconds: float = TABLE[Severity.P0].monitor_seconds
    verify_window_p2_p3_seconds: float = TABLE[Severity.P2].monitor_seconds
    mitigation_timeout_seconds: float = 120.0
    # Verification baselines (REMEDIATOR_BASELINE_LOOKBACK_SECONDS, …_GAP_SECONDS): the
    # mean over the lookback that ends the gap before the first alert started.
    baseline_lookback_seconds: float = Field(3600.0, gt=0)
    baseline_gap_seconds: float = Field(15 * 60, ge=0)
    # A handed-over incident continues as new (same id, state carried) whenever its run's
    # history passes this many events (REMEDIATOR_HISTORY_EVENTS_PER_RUN), far below
    # Temporal's 51,200-event limit; taken when the incident opens.
    history_events_per_run: int = Field(10_000, ge=50, le=40_000)
    # After a worker dies, its cached workflows move to another worker after this long.
    sticky_timeout_seconds: float = 10.0
    # Memory: workflows kept in the worker's cache (an evicted one replays its history
    # when it next runs) and activities run at once (REMEDIATOR_WORKER_MAX_CACHED_WORKFLOWS,
    # REMEDIATOR_WORKER_MAX_CONCURRENT_ACTIVITIES). A burst of 200 incidents peaked at
    # 268 MB with a cache of 250 and 215 MB with 80, and ran faster (BENCHMARKS.md):
    # an incident's histories are short, so replaying an evicted one is cheap.
    worker_max_cached_workflows: int = Field(80, ge=0)
    worker_max_concurrent_activities: int = Field(100, ge=1)
    # Workflow tasks at once (REMEDIATOR_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS; Temporal needs
    # two for sticky queues). The guard and the incident counters have workers of their
    # own, so incidents holding every slot while they wait on them never starve them.
    worker_max_concurrent_workflow_tasks: int = Field(100, ge=2)
    # Memory: a full garbage collection this often while the worker is busy
    # (REMEDIATOR_WORKER_GC_SECONDS; 0 leaves it to CPython), so the runs the cache
    # evicts are freed within a second rather than held until the old generation grows
    # by a quarter (remediator/heap.py).
    worker_gc_seconds: float = Field(1.0, ge=0)

    @field_validator("worker_gc_seconds")
    @classmethod
    def _gc_off_or_spaced(cls, seconds: float) -> float:
        # A collection holds the event loop for tens of ms: back to back, they would
        # leave workflow tasks no time.
        if 0 < seconds < MIN_GC_SECONDS:
            raise ValueError(f"0 (off) or at least {MIN_GC_SECONDS:g} s: each full "
                             "collection holds the worker's event loop for tens of ms")
        return seconds
    # Metrics (README "Metrics"): the worker's own on REMEDIATOR_WORKER_METRICS_ADDR
    # (host:port, /metrics), the Temporal SDK's (task latencies, slots, polls …) on
    # REMEDIATOR_TEMPORAL_METRICS_ADDR; each off while unset.
    worker_metrics_addr: str | None = Field(None, pattern=r"^[^\s:]*:\d{1,5}$")
    temporal_metrics_addr: str | None = Field(None, pattern=r"^[^\s:]*:\d{1,5}$")
    # How long the approvals waiting figure is reused between scrapes (it costs queries).
    metrics_cache_seconds: float = Field(15.0, ge=0)
    # Start-up order does not matter: worker and serve wait for Temporal and Redis,
    # retrying after 1 s, 2 s, 4 s … at most this long apart
    # (REMEDIATOR_CONNECT_RETRY_MAX_SECONDS).
    connect_retry_max_seconds: float = Field(30.0, gt=0)

    # Communications: sinks (JSON, see SinkConfig; URLs are secrets, never logged), who is
    # on call, and overrides of CommsPolicy's cadences and escalation timings as JSON
    # (REMEDIATOR_COMMS_OVERRIDES='{"cadence_seconds": {"P2": 600}, "page_again_seconds": 300}').
    # Each message's delivery to a sink, retries included, gets up to
    # REMEDIATOR_DELIVERY_BUDGET_SECONDS; then it is recorded as failed in the timeline.
    sinks: list[SinkConfig] = Field(default_factory=list)
    oncall: str = "on-call engineer"
    delivery_budget_seconds: float = Field(600.0, gt=0)
    comms_overrides: dict[str, Any] = Field(default_factory=dict)
    postmortem_bucket: str | None = None
    # Evidence (README "Evidence"): how long triage's collection may take in all
    # (REMEDIATOR_EVIDENCE_BUDGET_SECONDS); a source still busy then is noted and left.
    evidence_budget_seconds: float = Field(30.0, gt=0)

    # Slack app (README "Slack"): the bot token (chat.postMessage, chat.update,
    # conversations.*), the signing secret that proves a request came from Slack, the
    # channel approval requests go to, and who each Slack user is as an approver
    # (REMEDIATOR_SLACK_USERS="U123=alice,U456=bob"; unmapped users decide nothing).
    # Incidents of REMEDIATOR_SLACK_CHANNEL_SEVERITIES get a channel of their own.
    # The Web API's base URL is a setting so tests can point it at a local server.
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_channel: str | None = None
    slack_users: CsvList = Field(default_factory=list)
    slack_api_url: str = "https://slack.com/api"
    slack_channel_severities: CsvList = Field(default_factory=lambda: ["P0", "P1"])

    # Public status page (GET /status): which severities customers see (seed 02's
    # "External Communication (SEV-1/2)"), services always listed as components, the
    # page's title, and how often a browser reloads it.
    status_severities: CsvList = Field(default_factory=lambda: ["P0", "P1"])
    status_components: CsvList = Field(default_factory=list)
    status_title: str = "Service status"
    status_refresh_seconds: int = Field(60, ge=5)
    status_days: int = Field(90, ge=1, le=366)
    # How long one reading of the incidents serves every visitor (REMEDIATOR_STATUS_CACHE_SECONDS).
    status_cache_seconds: float = Field(10.0, ge=0)

    # Shadow mode for the whole worker (REMEDIATOR_DRY_RUN): every incident plans its steps
    # and changes nothing. A runbook's ``dry_run: true`` or an alert posted with
    # ``?dry_run=true`` does the same for its incidents.
    dry_run: bool = False
    # Safety rails (README "Safety rails"): the guard workflow's id, and its limits and
    # durations (REMEDIATOR_GUARD_*). Every worker sends its own at start: keep them equal.
    guard_workflow_id: str = GUARD_WORKFLOW_ID
    guard_cooldown_seconds: float = Field(300.0, ge=0)
    guard_sweep_seconds: float = Field(300.0, gt=0)
    guard_failure_window_seconds: float = Field(3600.0, gt=0)
    guard_failures_to_block: int = Field(3, ge=1)
    guard_block_seconds: float = Field(3600.0, gt=0)
    guard_recurrences_to_block: int = Field(3, ge=1)
    guard_max_in_flight: int = Field(10, ge=1)
    guard_max_in_flight_per_scope: int = Field(3, ge=1)
    guard_breaker_failures: int = Field(5, ge=1)
    guard_breaker_window_seconds: float = Field(1800.0, gt=0)
    guard_events_per_run: int = Field(1000, ge=100, le=40_000)
    # Incident-side waits: for a target another incident holds, for a fleet slot.
    guard_lock_wait_seconds: float = Field(300.0, ge=0)
    guard_slot_wait_seconds: float = Field(300.0, ge=0)

    # Test-only fault injection: name of a crash point at which the worker SIGKILLs itself.
    crash_at: str | None = None

    _split = field_validator("flag_allowlist", "approvers",
                             "cache_allowlist", "asg_allowlist", "lambda_allowlist",
                             "kube_allowlist", "postgres_allowlist", "haproxy_allowlist",
                             "silence_allowlist", "slack_users", "slack_channel_severities",
                             "status_severities", "status_components", mode="before")(_split_csv)

    def user_for_token(self, token: str) -> str | None:
        """The user an API token belongs to (constant-time comparison), or None."""
        if self.api_tokens is None or not token:
            return None
        found = None
        for pair in self.api_tokens.get_secret_value().split(","):
            user, _, secret = pair.strip().partition("=")
            if secret and hmac.compare_digest(secret.encode(), token.encode()):
                found = user
        return found

    @property
    def has_api_tokens(self) -> bool:
        return any(self.api_token_pairs())

    def api_token_pairs(self) -> list[tuple[str, str]]:
        """The configured (user, token) pairs; secret: never log them."""
        if self.api_tokens is None:
            return []
        pairs = (p.strip().partition("=") for p in self.api_tokens.get_secret_value().split(","))
        return [(user, secret) for user, _, secret in pairs if user and secret]

    def secret_for(self, user: str) -> str | None:
        """The user's API token, which also keys the signatures of their decisions."""
        return next((secret for name, secret in self.api_token_pairs() if name == user), None)

    def cli_token(self, user: str | None = None) -> str | None:
        """The CLI user's token: REMEDIATOR_API_TOKEN, else the token file, else (for a
        named ``user``) the embedded stack's token of that demo user, else None."""
        if self.api_token is not None and self.api_token.get_secret_value().strip():
            return self.api_token.get_secret_value().strip()
        paths = [self.api_token_file.expanduser()]
        if user and "/" not in user and not user.startswith("."):
            paths.append(self.dev_token_dir / user)
        for path in paths:
            try:
                return path.read_text().strip() or None
            except OSError:
                continue
        return None

    @property
    def dev_token_dir(self) -> Path:
        """Where ``remediator dev --demo`` writes its demo users' API tokens."""
        return self.state_dir / "dev-tokens"

    def slack_user_map(self) -> dict[str, str]:
        """Slack user id → remediator user (approver), from REMEDIATOR_SLACK_USERS."""
        pairs = (item.partition("=") for item in self.slack_users)
        return {slack_id.strip(): user.strip() for slack_id, _, user in pairs
                if slack_id.strip() and user.strip()}

    @property
    def slack_approvals(self) -> bool:
        """Approval requests are posted to Slack (a bot token and a channel are set)."""
        return self.slack_bot_token is not None and bool(self.slack_channel)

    def pagerduty_secret_list(self) -> list[str]:
        if self.pagerduty_secrets is None:
            return []
        return [s.strip() for s in self.pagerduty_secrets.get_secret_value().split(",") if s.strip()]

    @property
    def cache_url(self) -> str:
        """The Redis that ``cache.flush`` acts on: REMEDIATOR_CACHE_REDIS_URL or REDIS_URL."""
        return self.cache_redis_url or self.redis_url

    def guard_policy(self) -> GuardPolicy:
        """The guard's limits and durations from the REMEDIATOR_GUARD_* settings."""
        prefix = "guard_"
        fields = {name[len(prefix):]: getattr(self, name) for name in type(self).model_fields
                  if name.startswith(prefix) and name not in INCIDENT_SIDE}
        return GuardPolicy.model_validate(fields)

    def all_sinks(self) -> list[SinkConfig]:
        """The configured sinks and, with a Slack bot token, the incident channels (seed 02:
        one channel per incident of REMEDIATOR_SLACK_CHANNEL_SEVERITIES)."""
        if self.slack_bot_token is None or not self.slack_channel_severities:
            return list(self.sinks)
        channels = SinkConfig(name=INCIDENT_CHANNELS, kind="slack_channel",
                              severities=[Severity(s) for s in self.slack_channel_severities])
        return [*self.sinks, channels]

    def comms_policy(self) -> CommsPolicy:
        base = CommsPolicy(sinks=[s.ref() for s in self.all_sinks()], oncall=self.oncall,
                           delivery_budget_seconds=self.delivery_budget_seconds)
        return CommsPolicy.model_validate({**base.model_dump(), **self.comms_overrides})

    @property
    def http_host(self) -> str:
        return self.http_addr.rsplit(":", 1)[0]

    @property
    def http_is_loopback(self) -> bool:
        """Whether REMEDIATOR_HTTP_ADDR listens on loopback only (unknown names: no)."""
        host = self.http_host.strip("[]")
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    @property
    def reads_guarded(self) -> bool:
        """Whether reading an incident needs a valid API token."""
        return self.reads_need_token or not self.http_is_loopback

    @property
    def http_port(self) -> int:
        return int(self.http_addr.rsplit(":", 1)[1])

    @property
    def postmortem_dir(self) -> Path:
        return self.state_dir / "postmortems"
