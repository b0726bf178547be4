#!/usr/bin/env bash
# streetsafe quick start: set up everything a fresh Debian machine needs, then run the demo or
# the whole test suite.
#
#   bash scripts/quickstart.sh demo   # set up, load demo data, open the dashboard
#   bash scripts/quickstart.sh test   # set up, run every test (PostGIS and browser included)
#
# Installs what is missing: Debian packages (as root; otherwise it prints the apt command),
# a virtual environment in .venv, and the Python packages of pyproject.toml.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${STREETSAFE_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3.11}
what=${1:-}

case "$what" in
  demo) debs=(python3-venv) ;;
  # nodejs and npm: the sign-in test runs a real OIDC provider (npm's oidc-provider) on loopback
  test) debs=(python3-venv postgresql-15 postgresql-15-postgis-3 chromium nodejs npm) ;;
  *) echo "usage: bash scripts/quickstart.sh demo|test" >&2; exit 2 ;;
esac

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_debs() {
  local missing=()
  for pkg in "$@"; do
    # python3-venv matters only where the interpreter is Debian's own
    if [ "$pkg" = python3-venv ] && "$PYTHON" -c 'import ensurepip' 2>/dev/null; then continue; fi
    # a Node.js from elsewhere (e.g. NodeSource's nodejs) brings its own npm
    if [ "$pkg" = npm ] && command -v npm >/dev/null; then continue; fi
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

ensure_python() {
  if ! command -v "$PYTHON" >/dev/null; then
    echo "Python 3.11 is needed ($PYTHON not found); on Debian: apt-get install python3" >&2
    exit 1
  fi
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
    echo "$PYTHON is not Python 3.11; set PYTHON=/path/to/python3.11" >&2; exit 1; }
}

ensure_venv() {
  local stamp=$VENV/.streetsafe-installed
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "installing Python packages"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
    touch "$stamp"
  fi
}

ensure_python
ensure_debs "${debs[@]}"
ensure_venv
export PATH="$VENV/bin:$PATH"

case "$what" in
  demo)
    say "loading the synthetic demo data"
    streetsafe demo
    say "starting the dashboard"
    exec streetsafe dashboard
    ;;
  test)
    mkdir -p test-artifacts
    say "ruff, mypy"
    ruff check .
    ruff format --check .
    mypy
    say "pytest (PostGIS tests start their own throwaway cluster)"
    exec python -m pytest --junitxml=test-artifacts/junit.xml "${@:2}"
    ;;
esac
