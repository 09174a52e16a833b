#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, then run linters, type checks,
# architecture contracts, the package check (scripts/check_package.sh) and the whole test
# suite twice: on SQLite, then on a throwaway PostgreSQL server that this script starts and
# stops itself. `.ci/run` runs exactly this.
# Extra arguments go to both pytest runs. docs/testing.md explains the choices and timings.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
APT_UPDATED=""
apt_install() {
  [ -n "$APT_UPDATED" ] || { $SUDO apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if ! command -v chromium >/dev/null 2>&1; then
  echo "--- installing Debian chromium for the browser tests"
  apt_install chromium
fi

# Debian's server binaries live in /usr/lib/postgresql/VERSION/bin, outside PATH; the newest
# installed version is used.
pg_bindir() { find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bindir)" ] || [ ! -x "$(pg_bindir)/initdb" ]; then
  echo "--- installing Debian postgresql for the PostgreSQL run"
  apt_install postgresql
fi
PG_BIN="$(pg_bindir)"
PG_VERSION="$("$PG_BIN/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')"

echo "--- installing Loket with its test extra into .venv"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

export PTB_TIMEDELTA=1  # python-telegram-bot: RetryAfter.retry_after as timedelta, no warning
echo "--- ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "--- mypy"
.venv/bin/mypy chatbot flows db settings.py
echo "--- import contracts"
.venv/bin/lint-imports

# Ship-it: the wheel and the sdist build, and the wheel installed into a fresh virtualenv runs a
# whole conversation and `loket serve` from an empty directory. Once, not in both pytest runs.
echo "--- package (wheel, sdist, a fresh install)"
bash scripts/check_package.sh .venv/bin/python

# pytest-xdist workers per run: the two runs go side by side (below), 3 workers each on the
# 2-core CI machine, since many tests wait on child processes and servers rather than compute
# (docs/testing.md); a bigger machine may set LOKET_TEST_WORKERS=auto.
WORKERS="${LOKET_TEST_WORKERS:-3}"

# A private PostgreSQL: its own data directory and socket directory under a temporary folder,
# no TCP listener (nothing to collide with on the machine), and durability off, since the data
# is thrown away. initdb and the server refuse to run as root, so as root they run as the
# `postgres` user that Debian's package creates.
PG_TMP="$(mktemp -d -t loket-pg.XXXXXX)"
PG_DATA="$PG_TMP/data"
PG_PORT=54329  # names the socket file only (listen_addresses is empty)
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop_postgres() {
  if [ -f "$PG_DATA/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_TMP"
}
trap stop_postgres EXIT
[ "$(id -u)" -eq 0 ] && chown postgres: "$PG_TMP"
as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
  >"$PG_TMP/initdb.log" 2>&1 || { cat "$PG_TMP/initdb.log"; exit 1; }
PG_OPTS="-p $PG_PORT -k $PG_TMP -c listen_addresses= -c max_connections=300"
PG_OPTS+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
PG_OPTS+=" -c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=1GB"
PG_OPTS+=" -c checkpoint_timeout=1h -c shared_buffers=256MB"
as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_TMP/server.log" -o "$PG_OPTS" -w start >/dev/null \
  || { cat "$PG_TMP/server.log"; exit 1; }
PG_URL="postgresql+psycopg://postgres@/postgres?host=$PG_TMP&port=$PG_PORT"

# Both runs side by side, each in its own log, shown when it ends: the suite waits on child
# processes, servers and browsers more than it computes, so two runs keep the 2 cores busier
# than one run after the other (docs/testing.md, "Timings").
LOGS="$PG_TMP/logs"
mkdir -p "$LOGS"
run_suite() {  # NAME LOG [ENV=VALUE...]: one whole pytest run, timed
  local name="$1" log="$2"
  shift 2
  SECONDS=0
  local rc=0
  env "$@" .venv/bin/python -m pytest -n "$WORKERS" "${PYTEST_ARGS[@]}" >"$log" 2>&1 || rc=$?
  echo "($name run: ${SECONDS}s)" >>"$log"
  return "$rc"
}
PYTEST_ARGS=("$@")
echo "--- pytest on SQLite and on PostgreSQL $PG_VERSION, side by side ($WORKERS workers each)"
run_suite SQLite "$LOGS/sqlite.log" & sqlite_run=$!
run_suite PostgreSQL "$LOGS/postgresql.log" TEST_DATABASE_URL="$PG_URL" & postgres_run=$!
status=0
wait "$sqlite_run" || status=1
echo "--- pytest (SQLite)"
cat "$LOGS/sqlite.log"
wait "$postgres_run" || status=1
echo "--- pytest (PostgreSQL $PG_VERSION)"
cat "$LOGS/postgresql.log"

[ "$status" -eq 0 ] || echo "--- FAILED: at least one pytest run failed (see above)"
exit "$status"
