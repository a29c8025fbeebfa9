#!/usr/bin/env bash
# Installs the Debian packages some tests use (network namespaces, iptables; curl and python3 as
# the unmodified app and a plain TCP server in the interception tests), when running as root and
# they are missing; and what Native AOT needs to publish the native mesh-sidecar (a C compiler and
# linker, zlib); chromium (headless, for the dashboard's browser tests) and prometheus (scrapes a
# running demo); and for the ZooKeeper protocol tests, Debian's kazoo (the reference serializer and
# client, for /usr/bin/python3, with pytest and mock to run its own suite) and zookeeper (zkCli). Tests that need them and cannot have them say so and are skipped.
set -uo pipefail
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || need+=(clang)
ldconfig -p 2>/dev/null | grep -q 'libz\.so ' || need+=(zlib1g-dev)
command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-liberation)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import kazoo' >/dev/null 2>&1 || need+=(python3-kazoo)
[ -x /usr/share/zookeeper/bin/zkCli.sh ] || need+=(zookeeper)
# kazoo's own test suite (tests/kazoo-suite) runs under pytest and imports mock and objgraph.
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import pytest, mock, objgraph' >/dev/null 2>&1 || need+=(python3-pytest python3-mock python3-objgraph)
# Its eventlet and gevent handler files run the client tests again under those handlers.
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import eventlet, gevent' >/dev/null 2>&1 || need+=(python3-eventlet python3-gevent)
# java's source launcher runs the differential test's real ZooKeeper on port 0; it needs a JDK
command -v javac >/dev/null 2>&1 || need+=(default-jdk-headless)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "not root: skipping install of ${need[*]}"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
