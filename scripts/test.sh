#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, then run linters, type checks,
# architecture contracts and the whole test suite. `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "--- installing Debian chromium for the browser tests"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

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
echo "--- pytest"
.venv/bin/python -m pytest "$@"
