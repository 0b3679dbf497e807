#!/usr/bin/env bash
# Installs what supernode needs when it is missing, then builds. Idempotent; quiet when nothing is missing.
#   scripts/setup.sh            node packages + nats-server + build
#   scripts/setup.sh --docker   also docker.io, docker-compose and busybox-static (container tier)
set -euo pipefail
cd "$(dirname "$0")/.."

want=()
if [ -z "${NATS_SERVER_BIN:-}" ] && ! command -v nats-server >/dev/null 2>&1; then want+=(nats-server); fi
if [[ " $* " == *" --docker "* ]]; then
  command -v docker >/dev/null 2>&1 && docker version >/dev/null 2>&1 || { dpkg -s docker.io >/dev/null 2>&1 || want+=(docker.io); }
  command -v docker-compose >/dev/null 2>&1 || want+=(docker-compose)
  command -v busybox >/dev/null 2>&1 || want+=(busybox-static)   # /bin/sh and tools of the local base images
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
npx tsc -p tsconfig.json --incremental --tsBuildInfoFile dist/.tsbuildinfo
