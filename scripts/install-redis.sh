#!/usr/bin/env bash
# Installs Debian's Redis server (redis-server) for the shared rate-limit tests (test/fleet), which
# start their own instance on a free loopback port and stop it. Never fails by itself: where it
# cannot be installed, those tests say why they skip (and fail instead under CI, which sets
# USERSIG_TEST_REQUIRE).
set -u
if [ -x /usr/bin/redis-server ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server) >/dev/null 2>&1 \
    || echo "install-redis: could not install redis-server with apt-get; the shared-limit tests will be skipped"
else
  echo "install-redis: not root or no apt-get; the shared-limit tests will be skipped"
fi
exit 0
