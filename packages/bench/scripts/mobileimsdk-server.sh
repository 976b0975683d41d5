#!/usr/bin/env bash
# Runs MobileIMSDK's prebuilt v6 demo server in the foreground, with its logging quieted, as the
# reference for side-by-side benchmarks (docs/interop.md section 4, docs/benchmarks.md; the series
# script packages/bench/scripts/side-by-side.ts starts it once per round). Nothing is built or
# downloaded: the server is the vendored `../shared/vendor/mobileimsdk/server-demo` beside the
# repository when that folder is there (whatever MOBILEIMSDK_JARS says), else the jar cache that
# docs/interop.md section 1 describes; `test/interop/prepare.sh --server` builds the java command line.
#
# Usage (from anywhere; stop it with Ctrl-C or `kill <pid>`, SIGTERM runs the demo's shutdown hook):
#   bash packages/bench/scripts/mobileimsdk-server.sh
#   MOBILEIMSDK_JAVA_OPTS="-Xms1g -Xmx1g" bash packages/bench/scripts/mobileimsdk-server.sh
#
# The demo listens on every address: WebSocket 3000 (path /websocket), TCP 8901, UDP 7901, sense mode
# 5S for TCP and WS, accepts every login, stores nothing offline. It is ready about 1 s after start.
# Bench it with the same sense mode, for example:
#   pnpm -s bench -- --ws ws://127.0.0.1:3000/websocket --tcp 127.0.0.1:8901 --sense-mode 5S \
#     --users 200 --tcp-share 0.5 --inflight 4 --size 100 --duration 10 --warmup 2
#
# Environment:
#   MOBILEIMSDK_JAVA_OPTS   extra JVM flags placed before the others, e.g. heap "-Xms1g -Xmx1g"
#                           (default: none, so the JVM's own defaults)
#   MOBILEIMSDK_LOG_LEVEL   log4j2 root level, default ERROR (nothing in a healthy run); WARN shows one
#                           line per acked message, INFO logins and relays, DEBUG everything
#   MOBILEIMSDK_JARS        the jar cache with server-demo/ in it; only used when the vendored
#                           ../shared/vendor/mobileimsdk/server-demo is absent (as for test/interop/prepare.sh)
#   NETTY_JAR_DIR, SWITCHBOARD_INTEROP_BUILD   as for test/interop/prepare.sh
#
# It prints nothing itself; all output is the JVM's. Exceptions: when prepare.sh cannot build the
# command line (its UNAVAILABLE reason, exit 3; exit 1 on another failure), or when one of the three
# ports is already taken (one line on stderr, exit 1). The check matters because the demo does not
# exit when a bind fails: it prints a BindException and keeps running without that gateway.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
# The vendored demo server beside the checkout wins: every side-by-side series then runs the same
# binaries (SOURCE-COMMIT says which), whatever jar cache the environment points at.
VENDORED="$(cd "$ROOT/.." && pwd)/shared/vendor/mobileimsdk"
if [ -d "$VENDORED/server-demo" ]; then
  export MOBILEIMSDK_JARS="$VENDORED"
fi
ARGS="$(bash "$ROOT/test/interop/prepare.sh" --server)" || exit $?

if command -v ss >/dev/null 2>&1; then
  BUSY="$( { ss -Hltn '( sport = :8901 or sport = :3000 )'; ss -Hlun '( sport = :7901 )'; } 2>/dev/null || true)"
  if [ -n "$BUSY" ]; then
    echo "mobileimsdk-server.sh: port 8901, 3000 or 7901 is already in use:" >&2
    echo "$BUSY" >&2
    exit 1
  fi
fi

# Unquoted on purpose: prepare.sh prints space-separated java arguments (no spaces inside them).
# shellcheck disable=SC2086
exec java ${MOBILEIMSDK_JAVA_OPTS:-} -Dswitchboard.demo.loglevel="${MOBILEIMSDK_LOG_LEVEL:-ERROR}" $ARGS
