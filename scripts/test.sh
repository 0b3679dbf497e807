#!/usr/bin/env bash
# Runs every test tier. Installs what is missing first (scripts/setup.sh). Exit status is the tests'.
#   unit, integration,    always
#   adversarial           always (real nats-server, an independent client)
#   browser               headless Chromium (installed from Debian when missing; must run with CI=true)
#   containers            Docker via testcontainers and docker-compose: needs root or a running Docker.
#                         With CI=true it must run (no Docker = failure); elsewhere it is skipped loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
status=0
summary=()
tiers=()
run_tier() {
  local tier=$1; shift
  echo "== tier: $tier =="
  local t0=$SECONDS
  if npx vitest run "test/$tier" "$@" --reporter=default --reporter=json --outputFile="out/vitest-$tier.json"; then :; else status=1; fi
  local line
  line=$(node -e 'const r=require(process.argv[1]); console.log(`${process.argv[2]}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`)' "$PWD/out/vitest-$tier.json" "$tier") || { status=1; line="$tier: no results"; }
  echo "$line"
  echo "# $tier tier wall time: $((SECONDS - t0)) s"
  summary+=("$line")
  tiers+=("$tier")
}

# Removes what an interrupted earlier run may have left: containers and networks of the container tier.
clear_container_leftovers() {
  local ids
  ids=$(docker ps -aq --filter label=io.supernode.test --filter label=org.testcontainers=true; docker ps -aq --filter label=com.docker.compose.project=supernode-ctest)
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
  ids=$(docker network ls -q --filter label=org.testcontainers=true; docker network ls -q --filter label=com.docker.compose.project=supernode-ctest)
  [ -z "$ids" ] || docker network rm $ids >/dev/null
}

container_tier() {
  local why=""
  if ! bash scripts/setup.sh --docker; then why="docker.io/docker-compose could not be installed"
  elif ! bash deploy/docker-daemon.sh; then why="no Docker daemon answers and none could be started (see /var/log/dockerd.log)"
  fi
  if [ -n "$why" ]; then
    if [ "${CI:-}" = true ]; then
      echo "FAILED container tier: $why — in CI (CI=true) this tier must run" >&2
      summary+=("containers: FAILED, Docker unavailable: $why"); status=1
    else
      echo "SKIPPED container tier: $why" >&2
      summary+=("containers: SKIPPED ($why)")
    fi
    return
  fi
  clear_container_leftovers
  if ! bash deploy/build-images.sh; then
    echo "FAILED container tier: images did not build" >&2
    summary+=("containers: FAILED, images did not build"); status=1; return
  fi
  # Files one after another: each brings up a NATS cluster and up to 30 containers on 2 cores.
  TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=localhost run_tier containers --no-file-parallelism
  clear_container_leftovers
}

run_tier unit
run_tier integration
run_tier adversarial
# Browser tier: headless Chromium via puppeteer-core; with CI=true it must run.
if bash scripts/setup.sh --browser; then run_tier browser
elif [ "${CI:-}" = true ]; then echo "FAILED browser tier: chromium could not be installed — in CI (CI=true) this tier must run" >&2; summary+=("browser: FAILED, no chromium"); status=1
else echo "SKIPPED browser tier: chromium could not be installed" >&2; summary+=("browser: SKIPPED (no chromium)"); fi
if [ "${SUPERNODE_SKIP_CONTAINERS:-}" = 1 ] && [ "${CI:-}" != true ]; then
  echo "SKIPPED container tier: SUPERNODE_SKIP_CONTAINERS=1" >&2
  summary+=("containers: SKIPPED (SUPERNODE_SKIP_CONTAINERS=1)")
else
  container_tier
fi
echo "== summary =="
printf '%s\n' "${summary[@]}"
# One closing line over every tier that ran.
node -e 'let p=0,f=0; for (const t of process.argv.slice(1)) { const r=require(`${process.cwd()}/out/vitest-${t}.json`); p+=r.numPassedTests; f+=r.numFailedTests; } console.log(`total: ${p} passed, ${f} failed`)' "${tiers[@]}" || status=1
exit $status
