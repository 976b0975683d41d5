#!/usr/bin/env bash
# Run docker-compose.yml and testcontainers on a Debian 12 host that has podman instead of Docker and no image
# registry (the project's machines: root, npm registry and Debian apt only).
#
#   deploy/local-images.sh [prepare]     packages, podman settings and the stand-in base images (idempotent)
#   deploy/local-images.sh start [SOCK [--watch PID] [--cleanup-label K=V]...]
#                                        serve the Docker API from podman on unix://SOCK in the background
#   deploy/local-images.sh stop [SOCK]   stop the service `start` started
#   deploy/local-images.sh env [SOCK]    print the variables that select the stand-ins (eval "$(… env)")
#
# What `prepare` does, and why:
#  1. Installs Debian's podman, runc, docker-compose (v1) and debootstrap when one is missing (root, apt-get).
#  2. Writes /etc/containers/containers.conf.d/50-switchboard.conf when this host needs it, and only then:
#     - `runtime = "runc"` on a cgroup v1 / hybrid host: crun (what apt installs with podman) refuses
#       "cgroups in hybrid mode";
#     - `default_ulimits = []` when the hard open-files limit is below podman's default for root (1048576):
#       the OCI runtime cannot raise a container's limit above the host's hard limit and refuses to start it.
#       With the list empty a container inherits the service's limits (20000 on the project's machines).
#  3. Makes the base images, which cannot be pulled here, under localhost/switchboard-standin/…:
#     - debian:bookworm       `debootstrap --variant=minbase bookworm` from Debian's mirror, `podman import`ed;
#     - node:20-bookworm-slim this machine's own Node binary and npm (same Debian release) on that, with a `node`
#                             user (uid 1000) like the official image, and the machine's CA bundle (the npm
#                             registry may be reached through a TLS proxy with its own CA, as on the project's machines);
#     - redis:7-bookworm      Debian's redis-server (7.0), entrypoint like the official image's (no protected mode);
#     - rabbitmq:3.10-management-bookworm  Debian's rabbitmq-server (3.10) with the management plugin, entrypoint
#                             like the official image's (RABBITMQ_DEFAULT_USER/PASS, loopback_users = none);
#     - ryuk:local            a stand-in for testcontainers' reaper (deploy/podman/ryuk.mjs).
#     Each image carries a hash of what it was built from (Containerfile, files, base image, Node version) and is
#     rebuilt only when that changes; `--rebuild` forces it. Builds use the host network (apt, npm).
#     The compose file and deploy/Dockerfile keep their real image names; the stand-ins are selected by variables
#     (`env`), so the same files run unchanged on a Docker host:
#       SWITCHBOARD_NODE_IMAGE, SWITCHBOARD_REDIS_IMAGE, SWITCHBOARD_RABBITMQ_IMAGE  (docker-compose.yml, Dockerfile)
#       SWITCHBOARD_TEST_REDIS_IMAGE, SWITCHBOARD_TEST_RABBITMQ_IMAGE, RYUK_CONTAINER_IMAGE   (testcontainers)
#
# `start` runs deploy/podman/service.mjs: `podman system service --time=0 unix://SOCK` (default
# /run/switchboard/podman.sock), the Docker API that docker-compose (v1) and testcontainers talk to with
# DOCKER_HOST=unix://SOCK, and a loop that runs the containers' health checks, which podman leaves to systemd timers
# (without systemd no check ever runs and `depends_on: condition: service_healthy` waits forever). With --watch PID
# it removes what carries a --cleanup-label and stops when that process is gone. docs/operations.md
# "Compose with podman" has the whole procedure; test/deploy/containers runs it.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
files="$here/podman"
REPO=localhost/switchboard-standin
DEBIAN_IMAGE="$REPO/debian:bookworm"
NODE_IMAGE="$REPO/node:20-bookworm-slim"
REDIS_IMAGE="$REPO/redis:7-bookworm"
RABBITMQ_IMAGE="$REPO/rabbitmq:3.10-management-bookworm"
RYUK_IMAGE="$REPO/ryuk:local"
DEFAULT_SOCK=/run/switchboard/podman.sock
CONF=/etc/containers/containers.conf.d/50-switchboard.conf
LOCK="${TMPDIR:-/tmp}/switchboard-local-images.lock"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

TMP_DIRS=()
trap 'rm -rf "${TMP_DIRS[@]}"' EXIT

log() { printf '[local-images] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

install_packages() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}; install them as root (apt-get install ${missing[*]})"
  command -v apt-get >/dev/null || die "missing ${missing[*]}, and this is not a Debian system (no apt-get)"
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

configure_podman() {
  local lines=()
  if [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then lines+=('[engine]' 'runtime = "runc"'); fi
  local hard
  hard="$(ulimit -Hn)"
  if [ "$hard" != unlimited ] && [ "$hard" -lt 1048576 ]; then lines+=('[containers]' 'default_ulimits = []'); fi
  if [ ${#lines[@]} -eq 0 ]; then
    [ -f "$CONF" ] && { log "removing $CONF (no longer needed)"; rm -f "$CONF"; }
    return 0
  fi
  local want
  want="$(printf '# Written by deploy/local-images.sh (Switchboard): cgroup v1/hybrid needs runc; a hard open-files\n# limit below podman'"'"'s default (1048576) needs the default ulimits off. Remove this file to undo.\n'; printf '%s\n' "${lines[@]}")"
  if [ "$(cat "$CONF" 2>/dev/null)" != "$want" ]; then
    [ "$(id -u)" = 0 ] || die "$CONF needs writing; run as root"
    mkdir -p "$(dirname "$CONF")"
    printf '%s\n' "$want" > "$CONF"
    log "wrote $CONF"
  fi
}

image_label() { podman image inspect --format "{{index .Labels \"$2\"}}" "$1" 2>/dev/null || true; }
image_id() { podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# build TAG CONTAINERFILE CONTEXT HASH-INPUT... : podman build unless the image was built from the same inputs.
build() {
  local tag="$1" containerfile="$2" context="$3"
  shift 3
  local hash
  hash="$( { cat "$containerfile"; printf '%s\n' "$@"; } | sha256sum | cut -c1-16)"
  if [ "${REBUILD:-0}" = 0 ] && [ "$(image_label "$tag" org.switchboard.standin-hash)" = "$hash" ]; then
    log "$tag is up to date"
    return 0
  fi
  log "building $tag"
  local t0=$SECONDS
  podman build --network host --pull=never -q -f "$containerfile" --label "org.switchboard.standin-hash=$hash" \
    --build-arg "NODE_VERSION=$(node --version 2>/dev/null || echo none)" -t "$tag" "$context" >/dev/null
  log "built $tag in $((SECONDS - t0)) s"
}

# Content hashes only (not paths: a fresh clone elsewhere must not look like a change).
hash_files() { for f in "$@"; do sha256sum <"$f" | cut -c1-64; done; }

make_debian() {
  if [ "${REBUILD:-0}" = 0 ] && [ -n "$(image_id "$DEBIAN_IMAGE")" ]; then
    log "$DEBIAN_IMAGE exists"
    return 0
  fi
  command -v debootstrap >/dev/null || export PATH="$PATH:/usr/sbin:/sbin"
  local root t0=$SECONDS
  root="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-rootfs.XXXXXX")"
  TMP_DIRS+=("$root")
  log "debootstrap --variant=minbase bookworm from $MIRROR (about 30 s)"
  debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; rm -f "$root.log"; die "debootstrap failed"; }
  rm -f "$root.log"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  # The image's apt sources: the same mirror, with the security and updates suites like the official image.
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' "$MIRROR" "$MIRROR" > "$root/etc/apt/sources.list"
  tar -C "$root" -c . | podman import -q --change 'CMD ["/bin/bash"]' --change 'LABEL org.switchboard.standin=debian' - "$DEBIAN_IMAGE" >/dev/null
  log "imported $DEBIAN_IMAGE in $((SECONDS - t0)) s"
}

make_node() {
  local node npm ctx
  node="$(readlink -f "$(command -v node)")" || die "no node on this machine"
  npm="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [ -f "$npm/package.json" ] || die "cannot find npm's directory (from $(command -v npm))"
  ldd "$node" 2>/dev/null | grep -q 'not found' && die "$node needs libraries the base image may lack"
  ctx="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-node-ctx.XXXXXX")"
  TMP_DIRS+=("$ctx")
  cp "$node" "$ctx/node"
  cp -a "$npm" "$ctx/npm"
  # The machine's trust store (Debian's bundle, with any local CA update-ca-certificates added): see node.Containerfile.
  local ca="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
  [ -f "$ca" ] || ca=/etc/ssl/certs/ca-certificates.crt
  if [ -f "$ca" ]; then cp "$ca" "$ctx/ca-certificates.crt"; else : >"$ctx/ca-certificates.crt"; fi
  build "$NODE_IMAGE" "$files/node.Containerfile" "$ctx" "base $(image_id "$DEBIAN_IMAGE")" "node $("$node" --version)" \
    "npm $(node -p "require('$npm/package.json').version")" "$(hash_files "$node" "$ctx/ca-certificates.crt")"
}

prepare() {
  [ "$(id -u)" = 0 ] || die "run as root: podman here runs rootful (the project's machines run everything as root)"
  install_packages
  configure_podman
  exec 9>"$LOCK"
  flock 9 # one preparation at a time (two test runs may start together)
  local t0=$SECONDS
  make_debian
  make_node
  local base
  base="base $(image_id "$DEBIAN_IMAGE")"
  build "$REDIS_IMAGE" "$files/redis.Containerfile" "$files" "$base" "$(hash_files "$files/redis-entrypoint.sh")"
  build "$RABBITMQ_IMAGE" "$files/rabbitmq.Containerfile" "$files" "$base" "$(hash_files "$files/rabbitmq-entrypoint.sh")"
  build "$RYUK_IMAGE" "$files/ryuk.Containerfile" "$files" "base $(image_id "$NODE_IMAGE")" "$(hash_files "$files/ryuk.mjs")"
  log "stand-in images ready ($((SECONDS - t0)) s)"
}

# GET /_ping on the socket (node, which every machine of the project has; curl may be missing).
ping_sock() {
  [ -S "$1" ] || return 1
  node -e 'require("http").get({ socketPath: process.argv[1], path: "/_ping", timeout: 2000 }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on("error", () => process.exit(1)).on("timeout", () => process.exit(1))' "$1"
}

start() {
  local sock="${1:-$DEFAULT_SOCK}"
  [ $# -gt 0 ] && shift
  if ping_sock "$sock"; then log "the Docker API already answers on $sock"; else
    command -v podman >/dev/null || die "podman is not installed (deploy/local-images.sh prepare)"
    mkdir -p "$(dirname "$sock")"
    # service.mjs: podman system service, plus the health checks podman leaves to systemd (none here); see that file.
    nohup node "$files/service.mjs" "$sock" "$@" >"$sock.log" 2>&1 &
    echo $! >"$sock.pid"
    for _ in $(seq 1 200); do ping_sock "$sock" && break; kill -0 "$(cat "$sock.pid")" 2>/dev/null || break; sleep 0.1; done
    ping_sock "$sock" || { tail -20 "$sock.log" >&2; die "podman system service did not answer on $sock (log: $sock.log)"; }
    log "podman serves the Docker API on $sock (pid $(cat "$sock.pid"), log $sock.log)"
  fi
  env_vars "$sock"
}

stop() {
  local sock="${1:-$DEFAULT_SOCK}"
  if [ -f "$sock.pid" ]; then
    local pid
    pid="$(cat "$sock.pid")"
    if kill "$pid" 2>/dev/null; then
      # service.mjs first waits (at most 40 s) for testcontainers' reapers still using the socket.
      for _ in $(seq 1 500); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      log "stopped the podman service (pid $pid)"
    fi
    rm -f "$sock.pid"
  fi
  rm -f "$sock"
}

env_vars() {
  local sock="${1:-$DEFAULT_SOCK}"
  cat <<EOF
export DOCKER_HOST=unix://$sock
export SWITCHBOARD_NODE_IMAGE=$NODE_IMAGE
export SWITCHBOARD_REDIS_IMAGE=$REDIS_IMAGE
export SWITCHBOARD_RABBITMQ_IMAGE=$RABBITMQ_IMAGE
export SWITCHBOARD_TEST_REDIS_IMAGE=$REDIS_IMAGE
export SWITCHBOARD_TEST_RABBITMQ_IMAGE=$RABBITMQ_IMAGE
export RYUK_CONTAINER_IMAGE=$RYUK_IMAGE
EOF
}

cmd="${1:-prepare}"
[ $# -gt 0 ] && shift
case "$cmd" in
  prepare)
    for a in "$@"; do
      case "$a" in --rebuild) REBUILD=1 ;; *) die "prepare: unknown option $a" ;; esac
    done
    prepare
    ;;
  start) start "$@" ;;
  stop) stop "${1:-}" ;;
  env) env_vars "${1:-}" ;;
  -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command $cmd (prepare, start, stop, env)" ;;
esac
