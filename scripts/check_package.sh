#!/usr/bin/env bash
# Ship-it check: Loket works installed from its wheel, with no source tree in sight.
#
# Builds the wheel (`pip wheel --no-deps .`) and the sdist, checks that the wheel holds every
# file of the packages (phrases, profiles, templates, migrations) and that a wheel built from
# the sdist holds the same, installs the wheel with its dependencies into a fresh virtualenv,
# and from an empty directory: `loket --version`; a whole conversation with
# `loket chat --profile erzap`, whose answers must equal this checkout's; `loket serve` until
# /healthz answers 200. scripts/test.sh runs it once, before the two pytest runs.
#
# Usage: bash scripts/check_package.sh [PYTHON]
#   PYTHON: the development virtualenv's interpreter (default .venv/bin/python), which
#   answers the conversation as this checkout does; its `build` (the test extra) makes the
#   sdist, else a throwaway virtualenv gets one. LOKET_WHEELHOUSE: where the dependencies'
#   wheels are kept between runs (default ~/.cache/loket-wheelhouse).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
DEV_PY="${1:-.venv/bin/python}"
[[ "$DEV_PY" = /* ]] || DEV_PY="$REPO/$DEV_PY"
for name in $(compgen -e | grep '^LOKET_' || true); do unset "$name"; done  # host settings

WORK="$(mktemp -d -t loket-package.XXXXXX)"
SERVE_PID=""
cleanup() {
  if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
    kill "$SERVE_PID"
    wait "$SERVE_PID" || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { echo "    $1 (${SECONDS}s)"; }
SECONDS=0

# Build outputs go to $WORK only; setuptools' build/ and *.egg-info in the tree are ignored.
"$DEV_PY" -m pip wheel -q --no-deps . -w "$WORK/dist"
BUILD_PY="$DEV_PY"
if ! (cd / && "$DEV_PY" -c 'import build' 2>/dev/null); then  # not ./build/
  "$DEV_PY" -m venv "$WORK/build-venv"
  "$WORK/build-venv/bin/python" -m pip install -q --disable-pip-version-check build
  BUILD_PY="$WORK/build-venv/bin/python"
fi
"$BUILD_PY" -m build -q --sdist --outdir "$WORK/dist" . >/dev/null
WHEEL="$(ls "$WORK"/dist/loket-*.whl)"
SDIST="$(ls "$WORK"/dist/loket-*.tar.gz)"
"$DEV_PY" -m pip wheel -q --no-deps "$SDIST" -w "$WORK/from-sdist"
step "built $(basename "$WHEEL") and $(basename "$SDIST")"

COUNT="$("$DEV_PY" - "$WHEEL" "$WORK"/from-sdist/loket-*.whl <<'EOF'
"""Every file of the shipped packages is in the wheel; the sdist's wheel is the same."""
import sys
import zipfile
from pathlib import Path

def names(wheel: str) -> set[str]:
    return {n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n}

shipped = {"settings.py"} | {
    str(path)
    for top in ("chatbot", "flows", "db", "scripts_text")
    for path in Path(top).rglob("*")
    if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
}
wheel, from_sdist = names(sys.argv[1]), names(sys.argv[2])
missing = sorted(shipped - wheel)
if missing:
    sys.exit(f"the wheel lacks {len(missing)} files: {missing[:10]}")
if wheel != from_sdist:
    sys.exit(f"the sdist's wheel differs: {sorted(wheel ^ from_sdist)[:10]}")
print(len(shipped))
EOF
)"
step "the wheel holds all $COUNT package files; the sdist builds the same wheel"

# The dependencies come from a wheelhouse kept between runs, filled from the index when it
# cannot satisfy them (the first run, a new dependency or lower bound): pip's HTTP cache alone
# still asks the index about every package, and some mirrors disable it.
WHEELHOUSE="${LOKET_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/loket-wheelhouse}"
mkdir -p "$WHEELHOUSE"
"$DEV_PY" -m venv "$WORK/venv"
PIP=("$WORK/venv/bin/python" -m pip --disable-pip-version-check)
if ! "${PIP[@]}" install -q --no-index --find-links "$WHEELHOUSE" "$WHEEL" 2>/dev/null; then
  "${PIP[@]}" wheel -q --wheel-dir "$WHEELHOUSE" "$WHEEL"
  rm -f "$WHEELHOUSE"/loket-*.whl  # only the dependencies are kept
  "${PIP[@]}" install -q --no-index --find-links "$WHEELHOUSE" "$WHEEL"
fi
step "installed the wheel and its dependencies into a fresh virtualenv"

mkdir "$WORK/installed" "$WORK/checkout"
cd "$WORK/installed"  # an empty directory: nothing of the source tree to lean on
VERSION="$("$WORK/venv/bin/loket" --version)"
EXPECTED="$("$DEV_PY" -c 'import sys, tomllib; print(tomllib.load(sys.stdin.buffer)["project"]["version"])' <"$REPO/pyproject.toml")"
[ "$VERSION" = "loket $EXPECTED" ] || { echo "loket --version said '$VERSION'"; exit 1; }

# A whole conversation, greeting to survey, from tests/conversations/samples.json
"$DEV_PY" - "$REPO/tests/conversations/samples.json" >"$WORK/conversation.txt" <<'EOF'
import json, sys
samples = json.load(open(sys.argv[1], encoding="utf-8"))
print("\n".join(next(s for s in samples if s["id"] == "sample-erzap-survey-retry")["lines"]))
EOF
"$WORK/venv/bin/loket" chat --profile erzap <"$WORK/conversation.txt" >"$WORK/installed.out"
(cd "$WORK/checkout" && PYTHONPATH="$REPO" "$DEV_PY" -m chatbot chat --profile erzap \
  <"$WORK/conversation.txt" >"$WORK/checkout.out")
if ! diff -u "$WORK/checkout.out" "$WORK/installed.out"; then
  echo "the installed loket answered differently from this checkout (diff above)"
  exit 1
fi
[ "$(grep -c '^bot> ' "$WORK/installed.out")" -ge 8 ] || { cat "$WORK/installed.out"; exit 1; }
"$WORK/venv/bin/loket" cases | grep -q ' closed ' || { "$WORK/venv/bin/loket" cases; exit 1; }
step "$VERSION: a whole erzap conversation from an empty directory, as this checkout answers"

PORT="$("$DEV_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$WORK/venv/bin/loket" serve --port "$PORT" >"$WORK/serve.out" 2>&1 &
SERVE_PID=$!
if ! "$WORK/venv/bin/python" - "$PORT" <<'EOF'
import sys, time, urllib.request
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=5) as r:
            sys.exit(0 if r.status == 200 else 1)
    except OSError:
        time.sleep(0.3)
sys.exit(1)
EOF
then
  cat "$WORK/serve.out"
  echo "loket serve did not answer /healthz with 200"
  exit 1
fi
kill "$SERVE_PID"
wait "$SERVE_PID"
SERVE_PID=""
step "loket serve answered /healthz 200 and stopped cleanly"
