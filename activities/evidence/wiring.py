"""The evidence sources a worker reads, built from its settings and shared clients."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import redis.asyncio as aioredis
from temporalio.client import Client

from activities.aws.clients import AwsClients
from activities.evidence.aws import AsgEvidence, LambdaEvidence
from activities.evidence.collect import EvidenceActivities, Source
from activities.evidence.flags import RedisFlagEvidence, SsmFlagEvidence
from activities.evidence.kube import KubeEvidence
from activities.evidence.own import OwnActionsEvidence
from activities.evidence.postgres import PostgresEvidence
from activities.evidence.series import SeriesEvidence
from activities.evidence.store import ArtefactStore
from activities.feature_flags.redis_store import RedisFlagStore
from activities.feature_flags.ssm_store import SsmFlagStore
from activities.kubernetes.api import KubeApi
from activities.postgres.databases import PostgresDatabases
from activities.support.crash_points import CrashPoints
from remediator.settings import Settings


def artefact_store(settings: Settings, aws: AwsClients, crash: CrashPoints | None = None
                   ) -> ArtefactStore:
    """Beside the postmortems: their directory, and their bucket when configured."""
    return ArtefactStore(settings.postmortem_dir, aws.s3, settings.postmortem_bucket, crash)


def evidence_activities(settings: Settings, redis_client: aioredis.Redis, http: httpx.AsyncClient,
                        client: Client, kube_api: KubeApi, aws: AwsClients, crash: CrashPoints,
                        flags_in_ssm: Callable[[], bool]) -> EvidenceActivities:
    """``flags_in_ssm``: whether any runbook keeps a flag in SSM (its history is read)."""
    sources: list[Source] = [
        KubeEvidence(kube_api, settings.kube_allowlist),
        SeriesEvidence(http, settings.prometheus_url),
        RedisFlagEvidence(RedisFlagStore(redis_client)),
        SsmFlagEvidence(aws.ssm, SsmFlagStore(aws.ssm, settings.ssm_flag_prefix), flags_in_ssm),
        LambdaEvidence(aws.lambda_),
        AsgEvidence(aws.autoscaling),
        PostgresEvidence(PostgresDatabases(settings.postgres_dsns)),
        OwnActionsEvidence(client, settings.guard_workflow_id),
    ]
    # Crash points for the durability tests: the bundle's own store only (not the chart's).
    return EvidenceActivities(sources, redis_client, artefact_store(settings, aws, crash),
                              settings.evidence_budget_seconds, crash)
