"""The worker process: which workflows and activities run on which task queue.

Clients (Redis, HTTP) are created once here and injected into the activity
classes; activities hold no module-level state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import redis.asyncio as aioredis
import structlog
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.worker import Replayer, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import public_incidents
from activities.alert_shield import ShieldActivities
from activities.alertmanager.api import AlertmanagerApi
from activities.alertmanager.firing import AlertStateActivities
from activities.alertmanager.incident import IncidentAlerts
from activities.alertmanager.silence import SilenceActivities
from activities.approval_proof import ProofActivities
from activities.aws.asg import AsgActivities
from activities.aws.clients import AwsClients
from activities.aws.lambda_alias import LambdaActivities
from activities.cache.flush import CacheActivities
from activities.evidence.chart import ChartMaker
from activities.evidence.wiring import artefact_store, evidence_activities
from activities.feature_flags.activities import FlagActivities
from activities.feature_flags.redis_store import RedisFlagStore
from activities.feature_flags.ssm_store import SsmFlagStore
from activities.feature_flags.store import FlagStore
from activities.go_ahead import GoAheadActivities
from activities.guard import GuardActivities, GuardLink
from activities.haproxy.runtime import HaproxyRuntime
from activities.haproxy.servers import HaproxyActivities
from activities.health import HealthActivities
from activities.incident_numbers import NumberActivities
from activities.kubernetes.api import KubeApi
from activities.kubernetes.restart import RestartActivities
from activities.kubernetes.rollback import RolloutActivities
from activities.kubernetes.scale import ScaleActivities
from activities.kubernetes.status import KubeStatusActivities
from activities.metrics import CloudWatchSource, MetricActivities, PrometheusSource
from activities.notify import NotifyActivities
from activities.postgres.databases import PostgresDatabases
from activities.postgres.queries import PostgresActivities
from activities.postmortem.closing import ClosingMetrics
from activities.postmortem.store import PostmortemActivities
from activities.runbooks import RunbookActivities
from activities.slack.api import SlackApi
from activities.slack.approvals import SlackApprovalActivities
from activities.slack.channels import IncidentChannels, reader_of
from activities.slack.evidence import from_incident
from activities.slack.store import CardStore
from activities.support.crash_points import CrashPoints
from activities.watch import WatchActivities
from remediator import heap
from remediator.internal_key import internal_keys
from remediator.models.approval import ApprovalPolicy
from remediator.models.guard import GUARD_TASK_QUEUE
from remediator.models.incident_number import NUMBERS_TASK_QUEUE
from remediator.models.policy import IncidentPolicy, Timings
from remediator.reachable import redis_when_ready, until_reachable
from remediator.settings import Settings
from remediator.severity import Severity
from remediator.telemetry.metrics import Metrics
from remediator.temporal import connect_when_ready, sdk_metrics_runtime, temporal_unreachable
from workers.heartbeats import HeartbeatInterceptor
from workers.log_context import LogContextInterceptor
from workers.metrics_server import serving_metrics
from workers.mitigation_metrics import MitigationMetricsInterceptor
from workers.registrations import mitigation_activities
from workers.seals import SealInterceptor
from workers.search_attributes import ensure_search_attributes
from workers.slot_return import SlotReturnInterceptor
from workflows.alert_group import AlertGroupWorkflow
from workflows.catalogue import lookup
from workflows.detect import DetectWorkflow
from workflows.guard.workflow import GuardWorkflow
from workflows.incident import IncidentWorkflow
from workflows.mitigate import MitigateWorkflow
from workflows.numbers import IncidentNumbersWorkflow
from workflows.postmortem import PostmortemWorkflow
from workflows.triage import TriageWorkflow
from workflows.verify import VerifyWorkflow

log = structlog.get_logger()

# Libraries that activity modules import; workflows only reference their contracts.
PASSTHROUGH = ("activities", "remediator", "httpx", "redis", "structlog", "yaml", "kubernetes",
               "boto3", "botocore", "opentelemetry", "fastapi", "starlette", "psycopg",
               # Our workflow code itself, imported once per process instead of once per
               # workflow run: the sandbox re-imports every module it does not pass through
               # for each run it creates (an incident's ~50 modules and their pydantic
               # models, ~115 ms of CPU), and a burst of incidents evicting each other from
               # the cache paid that on every return. Safe because ``workflows`` holds no
               # module-level state that a run changes (constants only). The price: names
               # our workflow modules import at module level are the real ones, not the
               # sandbox's restricted proxies, so a stray ``datetime.now()`` there is not
               # refused at run time; tests/workflows/test_workflow_code_is_deterministic.py
               # refuses such calls before they ship, and the replay tests check the rest.
               "workflows")

WORKFLOWS = [
    AlertGroupWorkflow, IncidentWorkflow, DetectWorkflow, TriageWorkflow, MitigateWorkflow,
    VerifyWorkflow, PostmortemWorkflow, GuardWorkflow,
]


def approvals_from(settings: Settings) -> ApprovalPolicy:
    return ApprovalPolicy(
        approvers=settings.approvers, groups=settings.approver_groups,
        chat=settings.slack_approvals,
        deadline_seconds={
            Severity.P0: settings.approval_deadline_p0_seconds,
            Severity.P1: settings.approval_deadline_p1_seconds,
            Severity.P2: settings.approval_deadline_p2_seconds,
            Severity.P3: settings.approval_deadline_p3_seconds,
        },
    )


def policy_from(settings: Settings) -> IncidentPolicy:
    return IncidentPolicy(approvals=approvals_from(settings), comms=settings.comms_policy(),
                          dry_run=settings.dry_run,
                          history_events_per_run=settings.history_events_per_run, timings=Timings(
        verify_interval_seconds=settings.verify_interval_seconds,
        verify_window_p0_p1_seconds=settings.verify_window_p0_p1_seconds,
        verify_window_p2_p3_seconds=settings.verify_window_p2_p3_seconds,
        mitigation_timeout_seconds=settings.mitigation_timeout_seconds,
        baseline_lookback_seconds=settings.baseline_lookback_seconds,
        baseline_gap_seconds=settings.baseline_gap_seconds,
        lock_wait_seconds=settings.guard_lock_wait_seconds,
        slot_wait_seconds=settings.guard_slot_wait_seconds,
    ))


def guard_link(client: Client, settings: Settings) -> GuardLink:
    """The way to the namespace's guard (``GUARD_TASK_QUEUE``), with this worker's policy;
    the incidents' guard activities and the guard worker's liveness check both use it."""
    return GuardLink(client, settings.guard_workflow_id, GUARD_TASK_QUEUE,
                     settings.guard_policy())


def activities_for(
    settings: Settings, redis_client: aioredis.Redis, http: httpx.AsyncClient, client: Client,
    exported: Metrics | None = None, guard: GuardActivities | None = None,
) -> list[object]:
    """Every activity of the worker; ``guard``: the incidents' way to the guard, when the
    caller shares it (the slot-return interceptor does), else one of their own."""
    crash = CrashPoints(settings.crash_at)
    numbers = NumberActivities(client, crash)
    shield = ShieldActivities(redis_client)
    aws = AwsClients.from_environment(settings.aws_region)
    flag_stores: dict[str, FlagStore] = {"redis": RedisFlagStore(redis_client),
                   "ssm": SsmFlagStore(aws.ssm, settings.ssm_flag_prefix)}
    flags = FlagActivities(flag_stores, settings.flag_allowlist, settings.flag_environment, crash)
    # The cache is usually the same Redis; a separate one gets its own (lazily connected) client.
    cache_client = (redis_client if settings.cache_url == settings.redis_url
                    else aioredis.Redis.from_url(settings.cache_url))
    cache = CacheActivities(cache_client, redis_client, settings.cache_allowlist, crash)
    asg = AsgActivities(aws.autoscaling, redis_client, settings.asg_allowlist,
                        settings.asg_max_capacity, crash)
    lambdas = LambdaActivities(aws.lambda_, settings.lambda_allowlist, crash)
    kube_api = KubeApi.from_config(settings.kubeconfig, settings.kube_context)
    health = HealthActivities(redis_client, http, kube_api, settings.kube_allowlist)
    metrics = MetricActivities({"prometheus": PrometheusSource(http, settings.prometheus_url),
                                "cloudwatch": CloudWatchSource(aws.cloudwatch)})
    watch = WatchActivities(health, metrics)
    api = slack_api(settings, http)
    channels = None if api is None else IncidentChannels(
        api, redis_client, {user: slack_id for slack_id, user in settings.slack_user_map().items()},
        settings.oncall, reader_of(client))
    notify = NotifyActivities(settings.all_sinks(), http, redis_client, aws.sns,
                              public_incidents.from_incident(client), channels)
    runbooks = RunbookActivities(settings.runbook_dir, policy_from(settings), lookup)
    closing = None if exported is None else ClosingMetrics(exported, redis_client)
    store = PostmortemActivities(settings.postmortem_dir, aws.s3, settings.postmortem_bucket,
                                 ChartMaker(http, settings.prometheus_url,
                                            artefact_store(settings, aws)), closing)
    proofs = ProofActivities(settings, crash)
    guard = guard or GuardActivities(guard_link(client, settings), crash)
    rollouts, scaling, restarts, status = kube_activities(settings, kube_api, redis_client, crash)
    postgres = PostgresActivities(PostgresDatabases(settings.postgres_dsns), redis_client,
                                  settings.postgres_allowlist, crash)
    haproxy = HaproxyActivities(HaproxyRuntime(settings.haproxy_socket), redis_client,
                                settings.haproxy_allowlist, crash)
    alertmanager = AlertmanagerApi(http, settings.alertmanager_url)
    incident_alerts = IncidentAlerts(client)
    alert_state = AlertStateActivities(incident_alerts, alertmanager)
    go_ahead = GoAheadActivities(alert_state.alerts_still_firing, guard)
    silences = SilenceActivities(alertmanager, incident_alerts, policy_from(settings).timings,
                                 settings.silence_allowlist, crash)
    chat = SlackApprovalActivities(api, CardStore(redis_client),
                                   settings.slack_channel, from_incident(client))
    mitigations = mitigation_activities([flags, cache, asg, lambdas, rollouts, scaling, restarts,
                                         postgres, haproxy, silences])
    evidence = evidence_activities(settings, redis_client, http, client, kube_api, aws, crash,
                                   runbooks.keep_flags_in_ssm)
    return [
        *mitigations, health.check_health, watch.watch_window, notify.send_message,
        metrics.read_metric, metrics.read_baseline,
        runbooks.find_runbook, runbooks.find_runbook_with_policy, runbooks.incident_policy,
        store.store_postmortem,
        status.recent_rollouts, numbers.allocate_incident_number, shield.forget_open_incident,
        proofs.check_decisions, guard.guard_admit, guard.guard_step_started,
        guard.guard_step_finished, guard.guard_verification_recorded, guard.guard_recurred,
        guard.guard_release, guard.guard_stale_holders, alert_state.alerts_still_firing,
        go_ahead.guard_step_started_if_firing,
        chat.post_approval_request, chat.update_approval_message,
        evidence.collect_evidence,
    ]


def slack_api(settings: Settings, http: httpx.AsyncClient) -> SlackApi | None:
    """The Slack Web API with the bot token, when a Slack app is configured."""
    if settings.slack_bot_token is None:
        return None
    return SlackApi(http, settings.slack_bot_token.get_secret_value(), settings.slack_api_url)


def kube_activities(
    settings: Settings, api: KubeApi, redis_client: aioredis.Redis, crash: CrashPoints
) -> tuple[RolloutActivities, ScaleActivities, RestartActivities, KubeStatusActivities]:
    """Kubernetes activities. The API client is built on first use, so a worker without
    any Kubernetes configuration starts; its Kubernetes steps are refused with the reason."""
    log.info("kubernetes.configured", kubeconfig=settings.kubeconfig or "default or in-cluster",
             allowlist=settings.kube_allowlist)
    allowlist = settings.kube_allowlist
    return (RolloutActivities(api, redis_client, allowlist, crash),
            ScaleActivities(api, redis_client, allowlist, settings.kube_max_replicas, crash),
            RestartActivities(api, redis_client, allowlist, crash),
            KubeStatusActivities(api, allowlist))


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox every worker (and the replay tests) runs workflows in."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH))


def replayer(keys: Sequence[bytes]) -> Replayer:
    """Replays histories as a worker holding these internal keys runs them."""
    return Replayer(workflows=[*WORKFLOWS, IncidentNumbersWorkflow],
                    workflow_runner=workflow_runner(), interceptors=[SealInterceptor(keys)],
                    data_converter=pydantic_data_converter)


@asynccontextmanager
async def running_worker(client: Client, settings: Settings,
                         metrics: Metrics | None = None) -> AsyncIterator[Worker]:
    """A started worker with its clients; everything is closed on exit. Its activities
    feed ``metrics`` (a registry of its own when not given)."""
    metrics = metrics or Metrics.for_runbooks(settings.runbook_dir)
    redis_client = aioredis.Redis.from_url(settings.redis_url)
    sticky = timedelta(seconds=settings.sticky_timeout_seconds)
    seals = SealInterceptor(internal_keys(settings))
    # One link to the guard for the incidents' guard activities and the interceptor that
    # frees a step's slot from inside its apply activity (one configure call per process).
    guard_calls = GuardActivities(guard_link(client, settings), CrashPoints(settings.crash_at))
    async with httpx.AsyncClient() as http:
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=WORKFLOWS,
            workflow_runner=workflow_runner(),
            activities=activities_for(settings, redis_client, http, client,  # type: ignore[arg-type]
                                      metrics, guard_calls),
            interceptors=[LogContextInterceptor(), HeartbeatInterceptor(),
                          MitigationMetricsInterceptor(metrics),
                          SlotReturnInterceptor(guard_calls.guard_step_finished),
                          seals],
            sticky_queue_schedule_to_start_timeout=sticky,
            max_cached_workflows=settings.worker_max_cached_workflows,
            max_concurrent_activities=settings.worker_max_concurrent_activities,
            max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        )
        # Every worker also serves the namespace's incident counters (their own queue).
        # A counter is shared by every worker: its sticky tasks wait only a moment for a
        # worker that may have died before any live one takes them.
        numbers = Worker(client, task_queue=NUMBERS_TASK_QUEUE,
                         workflows=[IncidentNumbersWorkflow], workflow_runner=workflow_runner(),
                         sticky_queue_schedule_to_start_timeout=timedelta(seconds=1))
        # And the namespace's guard, on its own queue (see ``GUARD_TASK_QUEUE``); the main
        # worker still serves a guard started on the incidents' queue until it moves.
        guard = Worker(client, task_queue=GUARD_TASK_QUEUE,
                       workflows=[GuardWorkflow], workflow_runner=workflow_runner(),
                       activities=[GuardActivities(guard_link(client, settings)
                                                   ).guard_stale_holders],
                       interceptors=[LogContextInterceptor(), seals],
                       sticky_queue_schedule_to_start_timeout=sticky)
        try:
            async with worker, numbers, guard:
                yield worker
        finally:
            await redis_client.aclose()


async def wait_for_dependencies(settings: Settings, runtime: Runtime | None) -> Client:
    """A Temporal client once Temporal and Redis both answer; started before either, the
    worker waits (with capped backoff, a log line per attempt) instead of exiting.
    ``runtime``: the process's, exporting the SDK's metrics (None: the SDK's default)."""
    client = await connect_when_ready(settings, runtime)
    await until_reachable(
        "temporal", settings.temporal_address,
        lambda: ensure_search_attributes(client, settings.temporal_namespace),
        unreachable=temporal_unreachable, max_seconds=settings.connect_retry_max_seconds)
    redis_client = aioredis.Redis.from_url(settings.redis_url)
    try:
        await redis_when_ready(redis_client, settings.redis_url, settings.connect_retry_max_seconds)
    finally:
        await redis_client.aclose()
    return client


async def run_worker(settings: Settings) -> None:
    """Runs until stopped. The SDK checks a new worker against its namespace just after
    it starts; Temporal lost in that moment (a restart, a deploy) sends the worker back
    to waiting for it, as at start, instead of ending the process."""
    # One runtime per process (with REMEDIATOR_TEMPORAL_METRICS_ADDR it binds that port);
    # a client per attempt, since a worker the SDK refused stays registered on its client.
    runtime = (sdk_metrics_runtime(settings.temporal_metrics_addr)
               if settings.temporal_metrics_addr else None)
    while True:
        client = await wait_for_dependencies(settings, runtime)
        # In a task of its own: a worker that fails cancels the task it was started in
        # (each of the three may), and only that task must end.
        serving = asyncio.create_task(_serve(client, settings))
        try:
            await serving
        except RuntimeError as exc:
            if not temporal_lost_at_start(exc):
                raise
            error = str(exc)[:300]
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if me is not None and me.cancelling():  # this process is stopping
                raise
            # Two workers failed: the second cancel took the first's error with it.
            if not await _unreachable(client):
                raise RuntimeError("a worker stopped as it started, and Temporal answers: "
                                   "see the SDK's log lines above") from None
            error = "a worker stopped as it started; Temporal does not answer"
        log.warning("worker.temporal_lost_at_start", temporal=settings.temporal_address,
                    error=error)


async def _serve(client: Client, settings: Settings) -> None:
    metrics = Metrics.for_runbooks(settings.runbook_dir)
    async with running_worker(client, settings, metrics), serving_metrics(
            settings, metrics, client):
        heap.settle()  # full collections skip the ~110,000 objects of start-up
        async with heap.tidied(settings.worker_gc_seconds):
            log.info("worker.started", task_queue=settings.task_queue,
                     temporal=settings.temporal_address)
            await asyncio.Event().wait()


async def _unreachable(client: Client) -> bool:
    try:
        await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), retry=False, timeout=timedelta(seconds=5))
    except Exception as exc:
        return temporal_unreachable(exc)
    return False


def temporal_lost_at_start(exc: BaseException) -> bool:
    """Whether the SDK's check of a starting worker failed because Temporal stopped
    answering (gRPC UNAVAILABLE), not because of what was asked (a wrong namespace)."""
    text = str(exc)
    return text.startswith("Worker validation failed") and "code: Unavailable" in text


if __name__ == "__main__":
    from remediator.logging import configure_logging

    configure_logging()
    asyncio.run(run_worker(Settings()))
