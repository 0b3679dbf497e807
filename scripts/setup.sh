#!/usr/bin/env bash
# Installs what supernode needs when it is missing, then builds what changed. Idempotent; quiet and
# fast (no tsc, no npm) when everything is installed and built.
#   scripts/setup.sh            node packages + nats-server + build
#   scripts/setup.sh --docker   also docker.io, docker-compose and busybox-static (container tier)
#   scripts/setup.sh --browser  also chromium (browser tier: Debian's Chromium, driven by puppeteer-core)
set -euo pipefail
cd "$(dirname "$0")/.."

want=()
if [ -z "${NATS_SERVER_BIN:-}" ] && ! command -v nats-server >/dev/null 2>&1; then want+=(nats-server); fi
if [[ " $* " == *" --docker "* ]]; then
  command -v docker >/dev/null 2>&1 && docker version >/dev/null 2>&1 || { dpkg -s docker.io >/dev/null 2>&1 || want+=(docker.io); }
  command -v docker-compose >/dev/null 2>&1 || want+=(docker-compose)
  command -v busybox >/dev/null 2>&1 || want+=(busybox-static)   # /bin/sh and tools of the local base images
fi
if [[ " $* " == *" --browser "* ]]; then
  [ -x /usr/bin/chromium ] || want+=(chromium)
fi
if ((${#want[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "supernode: missing ${want[*]} — install with: sudo apt-get install -y ${want[*]}" >&2
    exit 1
  fi
  echo "supernode: installing ${want[*]} (Debian packages)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi

if ! command -v node >/dev/null 2>&1; then
  echo "supernode: Node.js 20+ is required (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "supernode: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# Build only when something it is made from is newer than the last build (one `find`: milliseconds),
# so that `./bin/supernode run` on an installed machine starts at once. The stamp is taken before the
# build: a file edited during it is newer, and the next setup builds again. A failed build leaves no
# stamp. tsc type-checks and emits dist/ (tests, the Docker image); esbuild then bundles each process
# entry into one file (dist/bundle/: bin/supernode and the actor hosts start from these).
stamp=dist/.build-stamp
built() {
  local out
  for out in "$stamp" dist/services/cli/main.js dist/services/host/main.js dist/bundle/cli.cjs dist/bundle/host.cjs; do
    [ -f "$out" ] || return 1
  done
  [ -z "$(find services shared test/bench tsconfig.json package.json node_modules/.package-lock.json scripts/bundle.mjs -newer "$stamp" -print -quit 2>/dev/null)" ]
}
if ! built; then
  mkdir -p dist
  next=$(mktemp dist/.build-stamp.XXXXXX)   # one per setup: two may build at once
  trap 'rm -f "$next"' EXIT
  node node_modules/typescript/bin/tsc -p tsconfig.json --incremental --tsBuildInfoFile dist/.tsbuildinfo
  node scripts/bundle.mjs
  mv -f "$next" "$stamp"
fi
