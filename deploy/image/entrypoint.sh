#!/bin/sh
# One image, every role. The first argument (or SUPERNODE_ROLE) picks it:
#   host | npu | switch   an actor host: the actors of --actors / SUPERNODE_ACTORS (one or many)
#   chaos                 not implemented yet (fault injection is its own issue)
#   anything else         a supernode CLI command: run (the default), coordinator, compose, --help
# With SUPERNODE_NATS set, it first waits until one of those servers accepts connections.
set -e
role="${1:-${SUPERNODE_ROLE:-run}}"
[ "$#" -gt 0 ] && shift
if [ -n "${SUPERNODE_NATS:-}" ]; then node /app/deploy/image/wait-nats.mjs; fi
case "$role" in
  host|npu|switch) exec node /app/dist/services/host/main.js "$@" ;;
  chaos) echo "supernode: the chaos role is not implemented yet" >&2; exit 2 ;;
  *) exec node --max-semi-space-size=64 /app/dist/services/cli/main.js "$role" "$@" ;;
esac
