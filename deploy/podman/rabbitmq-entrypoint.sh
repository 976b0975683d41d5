#!/bin/sh
# Entry point of the rabbitmq stand-in (deploy/podman/rabbitmq.Containerfile), modelled on the official image's.
set -e
if [ "$1" = rabbitmq-server ]; then
  conf=/etc/rabbitmq/rabbitmq.conf
  {
    echo 'loopback_users = none'
    echo 'listeners.tcp.default = 5672'
    echo 'log.console = true'
    echo 'log.console.level = info'
    echo 'log.file = false'
    # Only used when the node's database is created (the first start of the volume), as with the official image.
    if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then echo "default_user = $RABBITMQ_DEFAULT_USER"; fi
    if [ -n "${RABBITMQ_DEFAULT_PASS:-}" ]; then echo "default_pass = $RABBITMQ_DEFAULT_PASS"; fi
  } > "$conf"
  unset RABBITMQ_DEFAULT_USER RABBITMQ_DEFAULT_PASS
  chown rabbitmq:rabbitmq "$conf"
  chmod 0600 "$conf"
  chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
  # Debian's /usr/sbin/rabbitmq-server wrapper sends the output to files; run the server itself, as rabbitmq, as PID 1.
  # The CLI tools (rabbitmq-diagnostics in the health check) find the same cookie through the rabbitmq user's HOME.
  export HOME=/var/lib/rabbitmq
  cd /var/lib/rabbitmq
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server
fi
exec "$@"
