"""A real, local Kubernetes control plane for tests: etcd + kube-apiserver + the
Deployment/ReplicaSet controllers, each a subprocess on 127.0.0.1 with its data,
keys and logs under one state directory.

The two Kubernetes binaries are built offline by ``scripts/build-kube.sh`` from
Debian bookworm's ``kubernetes`` source package and cached under
``${REMEDIATOR_CACHE:-~/.cache/remediator}/kube/1.20.2/``; etcd is Debian's
``etcd-server``. There is no kubelet or scheduler: see ``remediator.devstack.node_sim``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, Configuration

KUBE_VERSION = "1.20.2"
ADMIN_USER = "admin"
# No garbagecollector/namespace controllers: deleting a Deployment orphans its
# ReplicaSets and a deleted namespace stays Terminating unless you add them here.
DEFAULT_CONTROLLERS = ("deployment", "replicaset")


class KubeClusterError(RuntimeError):
    pass


@dataclass(frozen=True)
class KubeBinaries:
    apiserver: Path
    controller_manager: Path
    etcd: Path


def kube_cache_dir(version: str = KUBE_VERSION) -> Path:
    root = os.environ.get("REMEDIATOR_CACHE") or str(Path.home() / ".cache" / "remediator")
    return Path(root) / "kube" / version


def find_kube_binaries(version: str = KUBE_VERSION) -> KubeBinaries | None:
    """The cached kube-apiserver/kube-controller-manager and an etcd, or None."""
    cache = kube_cache_dir(version)
    apiserver, kcm = cache / "kube-apiserver", cache / "kube-controller-manager"
    etcd = shutil.which("etcd") or shutil.which("etcd", path="/usr/bin:/usr/local/bin")
    if etcd is None or not all(os.access(p, os.X_OK) for p in (apiserver, kcm)):
        return None
    return KubeBinaries(apiserver=apiserver, controller_manager=kcm, etcd=Path(etcd))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _tail(log: Path, lines: int = 25) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _write_rsa_key(path: Path) -> None:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError:
        subprocess.run(["openssl", "genrsa", "-out", str(path), "2048"], check=True,
                       capture_output=True)
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))


class KubeCluster:
    """etcd + kube-apiserver (RBAC, static tokens) + kube-controller-manager
    (by default only the deployment and replicaset controllers).

    ``extra_tokens`` maps user name -> bearer token; those users are in no group but
    ``system:authenticated``, so RBAC decides what they may do. The admin token's user
    is in ``system:masters``.
    """

    def __init__(self, state_dir: Path | str, extra_tokens: Mapping[str, str] | None = None,
                 *, binaries: KubeBinaries | None = None, start_timeout: float = 60.0,
                 controllers: Sequence[str] = DEFAULT_CONTROLLERS) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.extra_tokens: dict[str, str] = dict(extra_tokens or {})
        for user, token in self.extra_tokens.items():
            if not user or any(c in user + token for c in ',"\n') or user == ADMIN_USER:
                raise ValueError(f"bad extra token entry for user {user!r}")
        self._binaries = binaries
        self.start_timeout = start_timeout
        self.controllers = tuple(controllers)
        self.admin_token = secrets.token_hex(16)
        self.port = 0
        self.etcd_port = 0
        self._procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    # -- public surface ------------------------------------------------------------
    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        """The apiserver's self-signed serving certificate (with its CA); trust this."""
        return self.state_dir / "pki" / "apiserver.crt"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.state_dir / "admin.kubeconfig"

    def logs(self) -> dict[str, Path]:
        return {name: log for name, _, log in self._procs}

    def write_kubeconfig(self, path: Path | str, token: str | None = None,
                         user: str = ADMIN_USER) -> Path:
        """Write a kubeconfig for ``token`` (default: the admin token); returns the path."""
        path = Path(path)
        config = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "local", "cluster": {
                "server": self.server, "certificate-authority": str(self.ca_file)}}],
            "users": [{"name": user, "user": {"token": token or self.admin_token}}],
            "contexts": [{"name": user, "context": {"cluster": "local", "user": user}}],
            "current-context": user,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        path.chmod(0o600)
        return path

    def client_configuration(self, token: str | None = None) -> Configuration:
        from kubernetes.client import Configuration

        config = Configuration(host=self.server, ssl_ca_cert=str(self.ca_file))
        config.api_key = {"authorization": f"Bearer {token or self.admin_token}"}
        return config

    def api_client(self, token: str | None = None) -> ApiClient:
        from kubernetes.client import ApiClient

        return ApiClient(self.client_configuration(token))

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> KubeCluster:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        if self._procs:
            raise KubeClusterError("already started")
        binaries = self._binaries or find_kube_binaries()
        if binaries is None:
            raise KubeClusterError(
                f"Kubernetes binaries not found in {kube_cache_dir()} (or etcd missing): "
                "run scripts/build-kube.sh")
        atexit.register(self.stop)
        try:
            self._start(binaries)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM each process group (controller-manager, apiserver, etcd), then SIGKILL."""
        atexit.unregister(self.stop)
        procs, self._procs = self._procs, []
        for _, proc, _ in reversed(procs):
            self._signal(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(proc, signal.SIGKILL)
                proc.wait(timeout=timeout)

    # -- internals -------------------------------------------------------------------
    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        if proc.returncode is None:  # never signal a reaped (possibly reused) pid
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)  # start_new_session: pgid == pid

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = self.state_dir / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    cwd=self.state_dir)
        self._procs.append((name, proc, log))
        return proc

    def _wait(self, name: str, url: str, token: str | None, deadline: float) -> None:
        _, proc, log = next(p for p in self._procs if p[0] == name)
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # cert may not exist yet
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        last = ""
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise KubeClusterError(f"{name} exited with {proc.returncode}; see {log}:\n"
                                       f"{_tail(log)}")
            try:
                req = urllib.request.Request(url, headers=headers)
                with urllib.request.urlopen(req, timeout=2, context=ctx) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError) as e:
                last = str(e)
            time.sleep(0.1)
        raise KubeClusterError(f"{name} not ready at {url} ({last}); see {log}:\n{_tail(log)}")

    def _start(self, b: KubeBinaries) -> None:
        deadline = time.monotonic() + self.start_timeout
        sd = self.state_dir
        for d in (sd, sd / "pki"):
            d.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(sd / "etcd", ignore_errors=True)

        self.etcd_port, peer = free_port(), free_port()
        etcd_url, peer_url = f"http://127.0.0.1:{self.etcd_port}", f"http://127.0.0.1:{peer}"
        etcd_argv = [str(b.etcd), "--name=default", f"--data-dir={sd / 'etcd'}",
                     f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                     f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
                     f"--initial-cluster=default={peer_url}", "--log-level=warn"]
        if _supports_flag(b.etcd, "--unsafe-no-fsync"):
            etcd_argv.append("--unsafe-no-fsync")
        self._spawn("etcd", etcd_argv)
        self._wait("etcd", f"{etcd_url}/health", None, deadline)

        tokens = [f'{self.admin_token},{ADMIN_USER},{ADMIN_USER},"system:masters"']
        tokens += [f"{token},{user},{user}" for user, token in self.extra_tokens.items()]
        token_file = sd / "tokens.csv"
        token_file.write_text("\n".join(tokens) + "\n")
        token_file.chmod(0o600)
        sa_key = sd / "pki" / "sa.key"
        if not sa_key.exists():
            _write_rsa_key(sa_key)
        self.port = free_port()
        self._spawn("kube-apiserver", [
            str(b.apiserver), "--bind-address=127.0.0.1", f"--secure-port={self.port}",
            f"--cert-dir={sd / 'pki'}", f"--token-auth-file={token_file}",
            "--authorization-mode=RBAC", "--disable-admission-plugins=ServiceAccount",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={sa_key}",
            f"--service-account-signing-key-file={sa_key}",
            "--service-cluster-ip-range=10.0.0.0/24", f"--etcd-servers={etcd_url}",
            "--endpoint-reconciler-type=none",  # 127.0.0.1 is not a valid endpoint IP
            "--profiling=false", "--v=1"])
        self._wait("kube-apiserver", f"{self.server}/readyz", self.admin_token, deadline)

        self.write_kubeconfig(self.admin_kubeconfig)
        self._spawn("kube-controller-manager", [
            str(b.controller_manager), f"--kubeconfig={self.admin_kubeconfig}",
            f"--controllers={','.join(self.controllers)}", "--leader-elect=false",
            "--port=0", "--secure-port=0", "--concurrent-deployment-syncs=5",
            "--concurrent-replicaset-syncs=5", "--v=1"])
        time.sleep(0.5)
        _, kcm, log = self._procs[-1]
        if kcm.poll() is not None:
            raise KubeClusterError(f"kube-controller-manager exited with {kcm.returncode}; "
                                   f"see {log}:\n{_tail(log)}")


def _supports_flag(binary: Path, flag: str) -> bool:
    try:
        out = subprocess.run([str(binary), "--help"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return flag.encode() in out.stdout + out.stderr
