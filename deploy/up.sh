#!/usr/bin/env bash
# Brings up a compose supernode and waits for the coordinator's report. Exit status is the coordinator's.
#   bash deploy/up.sh                               the root docker-compose.yml (small CloudMatrix384)
#   bash deploy/up.sh my-deploy/docker-compose.yml  a file written by `supernode compose --out my-deploy`
#   bash deploy/up.sh FILE --keep                   leave the stopped containers for inspection (then: down)
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

compose=(docker-compose -f "$file")
"${compose[@]}" config -q
t0=$(date +%s.%N)
status=0
"${compose[@]}" up --abort-on-container-exit --exit-code-from coordinator || status=$?
echo "up: compose up → coordinator exit ${status} in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$t0}") s" >&2
if [ "$keep" = 1 ]; then
  echo "up: containers kept; report: docker cp \$(${compose[*]} ps -q coordinator):/app/out/report.json . ; then: ${compose[*]} down" >&2
else
  "${compose[@]}" down --remove-orphans >/dev/null 2>&1
fi
exit $status
