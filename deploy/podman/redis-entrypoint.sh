#!/bin/sh
# Entry point of the redis stand-in (deploy/podman/redis.Containerfile), modelled on the official image's.
set -e
# `docker run redis --appendonly yes` and `docker run redis /path/redis.conf` mean redis-server with those arguments.
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then
  shift
  # The official image compiles protected mode off; here it is an argument (a later one still wins).
  set -- redis-server --protected-mode no "$@"
  if [ "$(id -u)" = 0 ]; then
    chown -R redis:redis /data 2>/dev/null || true
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
