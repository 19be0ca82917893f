#!/usr/bin/env bash
# Installs Debian's Chromium for the debug page's browser test (test/browser). Never fails the
# build: where it cannot be installed, the test skips itself and says why.
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "install-browser: could not install chromium with apt-get; the browser test will be skipped"
else
  echo "install-browser: not root or no apt-get; the browser test will be skipped"
fi
exit 0
