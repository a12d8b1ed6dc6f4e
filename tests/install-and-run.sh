#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run it.
# Usage: bash tests/install-and-run.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
apt_install() {
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
# Debian's chromium drives the browser tests (Playwright's own browser download is not used).
command -v chromium >/dev/null 2>&1 || apt_install chromium
# A virtual environment: Debian's python3 refuses system-wide pip installs (PEP 668).
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv 2>/dev/null || { apt_install python3-venv && python3 -m venv .venv; }
fi
# Activate it, so that notebook kernels and subprocesses find the same interpreter.
export VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH"
python -m pip install -q --disable-pip-version-check -e '.[test]'
# the code's style is part of the test: lint findings and unformatted files fail the run
python -m ruff check --quiet .
python -m ruff format --check --quiet .
exec python -m pytest "$@"
