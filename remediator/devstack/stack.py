"""``remediator dev``: the embedded stack on 127.0.0.1, stopped cleanly by Ctrl-C.

Temporal dev server (SQLite in the state dir, UI), redis-server (append-only file
in the state dir), one worker and the webhook server, each a child process with
its log under ``<state-dir>/logs``. A restarted stack finds its incidents again.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from remediator.devstack.demo import CheckoutService, follow, sample_alert, send_alert
from remediator.devstack.demo_rollout import (
    BAD,
    GOOD,
    NAME,
    NAMESPACE,
    STEP,
    BadRollout,
    rollout_alert,
    wait_for_approval,
)
from remediator.devstack.kube_cluster import KubeCluster, KubeClusterError, find_kube_binaries
from remediator.devstack.node_sim import NodeSim
from remediator.devstack.servers import (
    PythonProcess,
    RedisServer,
    Server,
    ServerFailed,
    TemporalDevServer,
    free_port,
    port_in_use,
)
from remediator.settings import Settings

DEMO_APPROVER = "sre-on-call"
# The users the README's examples act as (`approve … --as alice`, `ack … --as bob`): in
# the embedded stack each is an approver with an API token in <state-dir>/dev-tokens/.
DEV_USERS = (DEMO_APPROVER, "alice", "bob")


def _port(preferred: int) -> int:
    return preferred if not port_in_use(preferred) else free_port()


def _say(message: str) -> None:
    print(f"remediator dev: {message}", flush=True)


class LocalKube:
    """The local Kubernetes control plane plus a simulated node (see ``remediator.devstack.kube_cluster``),
    when ``scripts/build-kube.sh`` has built its binaries; the worker gets its kubeconfig."""

    # The dev cluster is throwaway: the worker uses the admin kubeconfig and these namespaces.
    ALLOWLIST = "default/*,production/*,staging/*"

    def __init__(self, state_dir: Path) -> None:
        self.cluster = KubeCluster(state_dir)
        self.node: NodeSim | None = None

    def start(self) -> Path:
        self.cluster.start()
        self.node = NodeSim(self.cluster.api_client())
        self.node.start()
        return self.cluster.admin_kubeconfig

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
            self.node = None
        self.cluster.stop()


class DevStack:
    def __init__(self, state_dir: Path, demo: bool = False, once: bool = False) -> None:
        self.state_dir = state_dir.resolve()
        self.logs = self.state_dir / "logs"
        self.demo, self.once = demo, once
        self.settings = Settings(state_dir=self.state_dir)
        self.parts: list[Server] = []
        self.kube: LocalKube | None = None
        self.env: dict[str, str] = {}

    def _env(self, temporal: TemporalDevServer, redis: RedisServer, http_port: int) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "TEMPORAL_ADDRESS": temporal.address, "REDIS_URL": redis.url,
            "REMEDIATOR_STATE_DIR": str(self.state_dir),
            "REMEDIATOR_HTTP_ADDR": f"127.0.0.1:{http_port}",
        })
        env.setdefault("REMEDIATOR_FLAG_ALLOWLIST", "checkout-*")
        if self.demo:  # the demo shows a whole incident in about a minute, not half an hour
            env.setdefault("REMEDIATOR_VERIFY_WINDOW_P2_P3_SECONDS", "20")
            env.setdefault("REMEDIATOR_VERIFY_WINDOW_P0_P1_SECONDS", "20")
            env.setdefault("REMEDIATOR_VERIFY_INTERVAL_SECONDS", "2")
        if "REMEDIATOR_API_TOKENS" not in env:
            # The dev users are authenticated approvers: the CLI signs with their tokens
            # (the demo's own approval with REMEDIATOR_API_TOKEN, a user's shell with the
            # file of the user it names with --as).
            tokens = self._dev_tokens()
            env.setdefault("REMEDIATOR_APPROVERS", ",".join(DEV_USERS))
            env["REMEDIATOR_API_TOKENS"] = ",".join(f"{u}={t}" for u, t in tokens.items())
            env.setdefault("REMEDIATOR_API_TOKEN", tokens[DEMO_APPROVER])
        return env

    def _dev_tokens(self) -> dict[str, str]:
        """A fresh token per demo user, each written (mode 0600) where the CLI finds it
        by ``--as USER`` when the shell has no token of its own."""
        where = self.settings.dev_token_dir
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        tokens = {user: "demo-" + secrets.token_hex(16) for user in DEV_USERS}
        for user, token in tokens.items():
            path = where / user
            path.unlink(missing_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(token + "\n")
        return tokens

    def _start(self, part: Server) -> None:
        part.start()  # type: ignore[attr-defined]
        self.parts.append(part)

    def start(self) -> tuple[str, str]:
        settings = self.settings
        temporal_port = int(settings.temporal_address.rsplit(":", 1)[1])
        temporal = TemporalDevServer(self.state_dir, port=_port(temporal_port),
                                     ui_port=_port(8233))
        temporal.log = self.logs / "temporal.log"
        self._start(temporal)
        _say(f"Temporal at {temporal.address}, UI http://127.0.0.1:{temporal.ui_port}")
        redis = RedisServer(self.state_dir / "redis", port=_port(6379), persist=True)
        redis.log = self.logs / "redis.log"
        self._start(redis)
        _say(f"Redis at {redis.url}")
        http_port = _port(settings.http_port)
        env = self._env(temporal, redis, http_port)
        env.update(self._start_kube(env))
        self.env = env
        self._start(PythonProcess("worker", self.logs, ["workers.main"], env))
        self._start(PythonProcess("webhook", self.logs, ["starters.cli", "serve"], env,
                                  port=http_port))
        base = f"http://127.0.0.1:{http_port}"
        _say(f"webhook server at {base}; logs in {self.logs}")
        return base, redis.url

    def _start_kube(self, env: dict[str, str]) -> dict[str, str]:
        """Start the local Kubernetes if its binaries are built and no cluster is configured;
        the worker's environment additions (KUBECONFIG, allow-list)."""
        if {"KUBECONFIG", "REMEDIATOR_KUBECONFIG"} & env.keys() or find_kube_binaries() is None:
            return {}
        kube = LocalKube(self.state_dir / "kube")
        try:
            kubeconfig = kube.start()
        except KubeClusterError as exc:
            kube.stop()
            _say(f"local Kubernetes not started ({exc}); Kubernetes steps will be refused")
            return {}
        self.kube = kube
        _say(f"Kubernetes API at {kube.cluster.server} (KUBECONFIG={kubeconfig})")
        return {"KUBECONFIG": str(kubeconfig),
                "REMEDIATOR_KUBE_ALLOWLIST": env.get("REMEDIATOR_KUBE_ALLOWLIST", LocalKube.ALLOWLIST)}

    def stop(self) -> None:
        for part in reversed(self.parts):
            part.stop()
        self.parts.clear()
        if self.kube is not None:
            self.kube.stop()
            self.kube = None

    def run(self) -> int:
        def interrupted(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        # Ctrl-C even when started from a shell that ignores SIGINT for background jobs.
        signal.signal(signal.SIGTERM, interrupted)
        signal.signal(signal.SIGINT, interrupted)
        try:
            base, redis_url = self.start()
            if self.demo:
                self._run_demo(base, redis_url)
            if self.once:
                return 0
            _say("up. Ctrl-C stops everything.")
            while all(p.running for p in self.parts):
                time.sleep(0.5)
            _say("a component exited; stopping (see the logs)")
            return 1
        except ServerFailed as exc:
            _say(f"could not start: {exc}")
            return 1
        except KeyboardInterrupt:
            _say("stopping")
            return 0
        finally:
            self.stop()

    def _run_demo(self, base: str, redis_url: str) -> None:
        service = CheckoutService(redis_url)
        service.start()
        try:
            incident_id = send_alert(base, sample_alert())
            _say(f"demo alert sent: incident {incident_id} "
                 f"(watch it in the UI, or: remediator status {incident_id})")
            self._finish(base, incident_id)
        finally:
            service.stop()
        if self.kube is None:
            _say("no local Kubernetes (run `make kube` once): skipping the rollback demo")
            return
        self._run_rollback_demo(base, self.kube)

    def _finish(self, base: str, incident_id: str) -> None:
        final = follow(base, incident_id, timeout=300)
        _say(f"incident {incident_id}: {final['status']}; postmortem: "
             f"{self.state_dir / 'postmortems' / (incident_id + '.md')}")

    def _run_rollback_demo(self, base: str, kube: LocalKube) -> None:
        """A real bad rollout, rolled back after a human approval (given here by the CLI)."""
        rollout = BadRollout(kube.cluster.api_client())
        _say(f"staging a bad rollout: {NAMESPACE}/{NAME} {GOOD} → {BAD}")
        rollout.stage()
        incident_id = send_alert(base, rollout_alert())
        _say(f"rollout alert sent: incident {incident_id}")
        wait_for_approval(base, incident_id, timeout=120)
        approve = [sys.executable, "-m", "starters.cli", "approve", incident_id,
                   "--step", STEP, "--as", DEMO_APPROVER, "--reason", "demo: bad deploy"]
        _say(f"step {STEP} waits for approval; approving: remediator approve {incident_id} "
             f"--step {STEP} --as {DEMO_APPROVER}")
        subprocess.run(approve, env=self.env, check=True, timeout=60)
        self._finish(base, incident_id)
        _say(f"{NAMESPACE}/{NAME} now runs {rollout.image()}")
