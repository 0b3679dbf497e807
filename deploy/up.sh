#!/usr/bin/env bash
# Brings up a compose supernode and waits for the coordinator's report. Exit status is the coordinator's.
#   bash deploy/up.sh                               the root docker-compose.yml (small CloudMatrix384)
#   bash deploy/up.sh my-deploy/docker-compose.yml  a file written by `supernode compose --out my-deploy`
#   bash deploy/up.sh [FILE] --keep                 after the report, keep the NATS cluster running for your
#                                                   own clients (127.0.0.1:${SUPERNODE_NATS_PORT:-4222}); the exited
#                                                   coordinator and actors stay for inspection; prints how to stop
# Installs what is missing (docker.io, docker-compose), starts dockerd if none runs, builds the images
# without any registry, and makes the deployment's missing passwords (compose v1 fails on a missing
# env_file). Removes everything it started at the end unless --keep.
set -euo pipefail
cd "$(dirname "$0")/.."

file=docker-compose.yml keep=0
for a in "$@"; do
  case "$a" in
    --keep) keep=1 ;;
    *) file=$a ;;
  esac
done
[ -f "$file" ] || { echo "up: no compose file $file (make one with: supernode compose --out DIR)" >&2; exit 2; }

bash scripts/setup.sh --docker
bash deploy/docker-daemon.sh
bash deploy/build-images.sh

# The deployment folder is where the compose file's servers read their passwords from.
deploy_dir=$(sed -n 's#^ *env_file: *\(.*\)/credentials/nats.env *$#\1#p' "$file" | head -n 1)
[ -n "$deploy_dir" ] || { echo "up: $file is not a supernode compose file (no credentials/nats.env)" >&2; exit 2; }
node dist/services/cli/main.js compose --credentials-only --out "$(dirname "$file")/$deploy_dir" >&2

# An absolute path, so the commands printed for --keep work from any folder.
compose=(docker-compose -f "$(cd "$(dirname "$file")" && pwd)/$(basename "$file")")
"${compose[@]}" config -q
t0=$(date +%s.%N)
status=0
if [ "$keep" = 1 ]; then
  # The generator names the NATS servers nats-<i> (services/cli/compose/generate.ts). Naming every other
  # service makes --abort-on-container-exit stop only those when the coordinator exits: the servers
  # start as their dependencies and keep running. `up -d` after it changes nothing when they run and
  # starts them again under a compose that stops dependencies too.
  nats=() others=()
  while read -r s; do
    if [[ "$s" =~ ^nats-[0-9]+$ ]]; then nats+=("$s"); else others+=("$s"); fi
  done < <("${compose[@]}" config --services)
  "${compose[@]}" up --abort-on-container-exit --exit-code-from coordinator "${others[@]}" || status=$?
  "${compose[@]}" up -d --no-recreate "${nats[@]}"
else
  "${compose[@]}" up --abort-on-container-exit --exit-code-from coordinator || status=$?
fi
echo "up: compose up → coordinator exit ${status} in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$t0}") s" >&2
if [ "$keep" = 1 ]; then
  port=${SUPERNODE_NATS_PORT:-4222}
  run=$(sed -n 's#^ *SUPERNODE_RUN: *"\(.*\)" *$#\1#p' "$file" | head -n 1)
  creds="$(cd "$(dirname "$file")/$deploy_dir" && pwd)/credentials"
  SUPERNODE_NATS="nats://127.0.0.1:${port}" SUPERNODE_NATS_WAIT_MS=10000 node deploy/image/wait-nats.mjs
  {
    echo "up: kept running: the NATS cluster (${nats[*]}); the coordinator and the actors have exited (containers kept)"
    echo "up: connect to nats://127.0.0.1:${port} with a user of run ${run} (its only run): ${creds}/<user>.env"
    echo "up:   holds SUPERNODE_NATS_USER and SUPERNODE_NATS_PASS; observer watches sn.${run}.>, operator calls sn.${run}.api.* (inboxPrefix _INBOX.${run})"
    echo "up: report: docker cp \$(${compose[*]} ps -q coordinator):/app/out/report.json ."
    echo "up: stop:   ${compose[*]} down"
  } >&2
else
  "${compose[@]}" down --remove-orphans >/dev/null 2>&1
fi
exit $status
