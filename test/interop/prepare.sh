#!/usr/bin/env bash
# Prepares the MobileIMSDK Java-client interop check (see docs/interop.md).
#
#   bash test/interop/prepare.sh            -> prints the java classpath for SwitchboardInteropDriver
#                                              (driving the TCP client SDK)
#   bash test/interop/prepare.sh --udp      -> the same for the UDP client SDK (MobileIMSDK4j_udp.jar;
#                                              no Netty needed); the driver source is the same
#   bash test/interop/prepare.sh --server   -> prints java arguments that run MobileIMSDK's prebuilt
#                                              demo server quietly (log level ERROR, no log files):
#                                              java $(bash test/interop/prepare.sh --server)
#   bash test/interop/prepare.sh --jars-dir -> prints the jar cache directory it would use (exit 0,
#                                              whether or not it exists); .ci/run asks this
#
# Inputs (nothing is downloaded here; the jars come from the public MobileIMSDK repository, see docs):
#   MOBILEIMSDK_JARS        jar cache; default ../shared/vendor/mobileimsdk beside the repository root
#                           when that folder exists, else /var/cache/switchboard-interop/mobileimsdk.
#                           Needs MobileIMSDK4j_tcp.jar, MobileIMSDKServer_META.jar, gson-*.jar,
#                           swing-worker*.jar (--udp: MobileIMSDK4j_udp.jar in place of the tcp jar);
#                           --server also needs server-demo/{lib,classes}. Only read, never written.
#   NETTY_JAR_DIR           where Debian's libnetty-java module jars are, default /usr/share/java
#   SWITCHBOARD_INTEROP_BUILD  where the driver is compiled, default ${TMPDIR:-/tmp}/switchboard-interop-build
#
# Exit codes: 0 ok (one line on stdout); 3 the jar cache directory is not there (nothing to test
# against); 4 the cache is there but a jar in it, java, javac or the Netty jars are missing (a broken
# setup: the tests skip on a developer machine and fail in CI); 1 a real failure (for example the
# driver does not compile). For 3 and 4 one line "UNAVAILABLE: <reason>" goes to stdout, the reason
# to stderr.
set -euo pipefail

MODE=driver
case "${1:-}" in
  "") ;;
  --server) MODE=server ;;
  --udp) MODE=udp ;;
  --jars-dir) MODE=jars-dir ;;
  -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
  *) echo "prepare.sh: unknown argument $1" >&2; exit 2 ;;
esac

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# The vendored copy beside the repository (shared/vendor/mobileimsdk, read-only in CI) comes first.
VENDORED="$(cd "$ROOT/.." && pwd)/shared/vendor/mobileimsdk"
if [ -n "${MOBILEIMSDK_JARS:-}" ]; then
  JARS="$MOBILEIMSDK_JARS"
elif [ -d "$VENDORED" ]; then
  JARS="$VENDORED"
else
  JARS=/var/cache/switchboard-interop/mobileimsdk
fi
if [ "$MODE" = jars-dir ]; then printf '%s\n' "$JARS"; exit 0; fi
NETTY_DIR="${NETTY_JAR_DIR:-/usr/share/java}"
BUILD="${SWITCHBOARD_INTEROP_BUILD:-${TMPDIR:-/tmp}/switchboard-interop-build}"
NETTY_MODULES=(netty-common netty-buffer netty-resolver netty-transport netty-codec netty-handler)
NETTY_MODULES_SERVER=("${NETTY_MODULES[@]}" netty-codec-http)

unavailable() { # exit code, reason
  local code="$1"
  shift
  # The one-line reason goes to stdout too, so a caller that only captures stdout can show it.
  echo "UNAVAILABLE: $*"
  echo "prepare.sh: interop prerequisites unavailable: $*" >&2
  exit "$code"
}

first_match() { # first existing file matching a glob in a directory
  local dir="$1" pat="$2" f
  for f in "$dir"/$pat; do
    if [ -f "$f" ]; then printf '%s\n' "$f"; return 0; fi
  done
  return 1
}

[ -d "$JARS" ] || unavailable 3 "jar cache $JARS does not exist (set MOBILEIMSDK_JARS; docs/interop.md says how to fill it)"
command -v java >/dev/null 2>&1 || unavailable 4 "the jars are in $JARS but there is no 'java' on PATH (apt-get install -y default-jdk-headless)"
command -v javac >/dev/null 2>&1 || unavailable 4 "the jars are in $JARS but there is no 'javac' on PATH (apt-get install -y default-jdk-headless)"

netty_cp() { # prints the netty module classpath or returns 1
  local cp="" m f
  for m in "$@"; do
    f="$(first_match "$NETTY_DIR" "$m.jar")" || f="$(first_match "$NETTY_DIR" "$m-4.*.jar")" || return 1
    cp="${cp:+$cp:}$f"
  done
  printf '%s\n' "$cp"
}

resolve_netty() {
  local cp
  if cp="$(netty_cp "$@")"; then printf '%s\n' "$cp"; return 0; fi
  # The jar cache exists, so this machine is meant to run the check: install Debian's Netty.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "prepare.sh: Netty jars missing under $NETTY_DIR, installing libnetty-java" >&2
    if ! apt-get install -y -q libnetty-java >&2; then
      apt-get update -q >&2 && apt-get install -y -q libnetty-java >&2 || true
    fi
    if cp="$(netty_cp "$@")"; then printf '%s\n' "$cp"; return 0; fi
  fi
  return 1
}

if [ "$MODE" = server ]; then
  SRV="$JARS/server-demo"
  [ -d "$SRV/classes/net/x52im/mobileimsdk/server/demo" ] || unavailable 4 "demo server classes missing under $SRV/classes"
  CP="$SRV/classes"
  for pat in 'MobileIMSDKServer.jar' 'gson-*.jar' 'log4j-api-*.jar' 'log4j-core-*.jar' 'log4j-slf4j-impl-*.jar' \
             'slf4j-api-*.jar' 'amqp-client-*.jar'; do
    f="$(first_match "$SRV/lib" "$pat")" || unavailable 4 "demo server jar $pat missing under $SRV/lib"
    CP="$CP:$f"
  done
  NCP="$(resolve_netty "${NETTY_MODULES_SERVER[@]}")" || unavailable 4 "Debian Netty module jars (libnetty-java) not found under $NETTY_DIR (apt-get install -y libnetty-java)"
  mkdir -p "$BUILD"
  # Our own minimal log4j2 config (used in place of the demo's classes/log4j2.xml, which logs DEBUG to the
  # console and to ~/logs2): console only, root level ERROR unless -Dswitchboard.demo.loglevel=... says
  # otherwise. ERROR, not WARN: the demo turns on the QoS daemons' debug output, and the S2C daemon logs
  # every acked message at WARN. At ERROR a healthy run prints nothing (docs/interop.md section 4).
  cat > "$BUILD/log4j2-quiet.xml.tmp.$$" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="ERROR">
  <Appenders>
    <Console name="Console" target="SYSTEM_OUT">
      <PatternLayout pattern="%-5level [%d{HH:mm:ss.SSS}] %m%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="${sys:switchboard.demo.loglevel:-ERROR}">
      <AppenderRef ref="Console"/>
    </Root>
  </Loggers>
</Configuration>
XML
  mv -f "$BUILD/log4j2-quiet.xml.tmp.$$" "$BUILD/log4j2-quiet.xml"
  echo "-Dlog4j2.configurationFile=$BUILD/log4j2-quiet.xml -cp $CP:$NCP net.x52im.mobileimsdk.server.demo.ServerLauncherImpl"
  exit 0
fi

SDK_JAR='MobileIMSDK4j_tcp.jar'
[ "$MODE" = udp ] && SDK_JAR='MobileIMSDK4j_udp.jar'
SDK_CP=""
for pat in "$SDK_JAR" 'MobileIMSDKServer_META.jar' 'gson-*.jar' 'swing-worker*.jar'; do
  f="$(first_match "$JARS" "$pat")" || unavailable 4 "$pat missing in $JARS (docs/interop.md lists the jars to extract)"
  SDK_CP="${SDK_CP:+$SDK_CP:}$f"
done
if [ "$MODE" = udp ]; then
  # The UDP client SDK uses plain java.net.DatagramSocket: no Netty on its classpath.
  NCP=""
else
  NCP="$(resolve_netty "${NETTY_MODULES[@]}")" || unavailable 4 "Debian Netty module jars (libnetty-java) not found under $NETTY_DIR (apt-get install -y libnetty-java)"
fi

SRC="$HERE/java/SwitchboardInteropDriver.java"
[ -f "$SRC" ] || { echo "prepare.sh: driver source $SRC missing" >&2; exit 1; }

# Compile once per (source, classpath) into its own directory; reuse it on later runs.
KEY="$( { cat "$SRC"; echo "$SDK_CP:$NCP"; javac -version 2>&1; } | sha256sum | cut -c1-16)"
OUT="$BUILD/driver-$KEY"
if [ ! -f "$OUT/SwitchboardInteropDriver.class" ]; then
  mkdir -p "$BUILD"
  TMP="$(mktemp -d "$BUILD/.compile.XXXXXX")"
  if ! javac -nowarn -encoding UTF-8 --release 11 -cp "$SDK_CP${NCP:+:$NCP}" -d "$TMP" "$SRC" >&2; then
    rm -rf "$TMP"
    echo "prepare.sh: javac failed for $SRC" >&2
    exit 1
  fi
  if ! mv -T "$TMP" "$OUT" 2>/dev/null; then
    rm -rf "$TMP" # another run won the race; its output is identical
  fi
fi

echo "$OUT:$SDK_CP${NCP:+:$NCP}"
