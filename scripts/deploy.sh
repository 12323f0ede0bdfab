#!/usr/bin/env bash
# Production deploy (`npm run deploy`; `npm run deploy -- --dry-run` prints the plan only).
# See scripts/deploy/deploy.ts for the steps. The project's wrangler is appended to PATH, so a
# wrangler found earlier on PATH wins (the deploy test puts a recording fake there).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$PATH:$root/node_modules/.bin"
exec "$root/node_modules/.bin/node" "$root/node_modules/tsx/dist/cli.mjs" "$root/scripts/deploy/deploy.ts" "$@"
