#!/usr/bin/env bash
# Makes sure a Docker daemon answers. When none does and we are root, starts dockerd in the background
# (these machines have no systemd) and waits for it. Exit 0 when Docker answers; else 1 with one line
# on stderr saying why.
set -euo pipefail

WAIT_S=${SUPERNODE_DOCKERD_WAIT_S:-20}
LOG=${SUPERNODE_DOCKERD_LOG:-/var/log/dockerd.log}

answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

answers && exit 0
if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
  echo "docker-daemon: docker/dockerd not installed (bash scripts/setup.sh --docker installs them)" >&2; exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "docker-daemon: no Docker daemon answers and only root can start one here" >&2; exit 1
fi
echo "docker-daemon: starting dockerd in the background (log: $LOG)" >&2
setsid dockerd >>"$LOG" 2>&1 </dev/null &
deadline=$((SECONDS + WAIT_S))
until answers; do
  if ((SECONDS >= deadline)); then
    echo "docker-daemon: dockerd did not answer within ${WAIT_S} s; last log lines: $(tail -n 3 "$LOG" 2>/dev/null | tr '\n' ' ')" >&2
    exit 1
  fi
  sleep 0.2
done
