#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine and run it all:
#   1. pip: the package with its test extras;
#   2. apt: PostgreSQL (the production database), Redis (ingestion streams), mosquitto (MQTT),
#      Chromium and a Chinese font (console tests);
#   3. the whole suite on the embedded SQLite default (slow suites included);
#   4. the storage, service and API suites again on PostgreSQL.
# Run as root (CI) or with sudo rights. Set SKIP_APT=1 where the packages are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
as_postgres() { if [ "$(id -u)" = "0" ]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }

echo "== pip install"
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"

if [ "${SKIP_APT:-0}" != "1" ]; then
  need=()
  command -v pg_ctlcluster >/dev/null || need+=(postgresql)
  command -v redis-server >/dev/null || need+=(redis-server)
  command -v mosquitto >/dev/null || need+=(mosquitto)
  command -v chromium >/dev/null || need+=(chromium)
  [ -d /usr/share/fonts/truetype/wqy ] || need+=(fonts-wqy-microhei)
  if [ ${#need[@]} -gt 0 ]; then
    echo "== apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

PG_URL=""
if command -v pg_ctlcluster >/dev/null; then
  echo "== start PostgreSQL"
  ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! pg_lsclusters -h | grep -q "^$ver main"; then $SUDO pg_createcluster "$ver" main >/dev/null; fi
  $SUDO pg_ctlcluster "$ver" main start 2>/dev/null || true
  for _ in $(seq 1 30); do
    if as_postgres "psql -qAtc 'select 1'" >/dev/null 2>&1; then break; fi
    sleep 1
  done
  as_postgres "psql -qc \"ALTER USER postgres PASSWORD 'civicloop'\"" >/dev/null
  PG_URL="postgresql+psycopg://postgres:civicloop@127.0.0.1:5432/postgres"
fi

echo "== lint and types"
ruff check src tests benchmarks
mypy

echo "== tests on SQLite (everything, slow suites included)"
python3 -m pytest -n 2 -q

if [ -n "$PG_URL" ]; then
  echo "== storage, service and API tests on PostgreSQL"
  CIVICLOOP_TEST_DATABASE_URL="$PG_URL" python3 -m pytest -n 2 -q tests/cases tests/api tests/ledger tests/org tests/open311 tests/enterprise tests/intake tests/nlp \
    tests/discovery tests/registry tests/risk tests/evaluation tests/supervision
else
  echo "PostgreSQL is not available: the PostgreSQL run was skipped" >&2
  exit 1
fi
