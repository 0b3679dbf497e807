#!/usr/bin/env bash
# Runs every test tier. Installs what is missing first (scripts/setup.sh). Exit status is the tests'.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
status=0
run_tier() {
  local tier=$1
  echo "== tier: $tier =="
  if npx vitest run "test/$tier" --reporter=default --reporter=json --outputFile="out/vitest-$tier.json"; then :; else status=1; fi
  node -e 'const r=require(process.argv[1]); console.log(`${process.argv[2]}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`)' "$PWD/out/vitest-$tier.json" "$tier" || status=1
}
run_tier unit
run_tier integration
exit $status
