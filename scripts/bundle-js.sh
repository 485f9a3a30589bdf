#!/usr/bin/env bash
# Bundles the app's JavaScript (marked with DataSage's sanitizing renderer, app/js/markdown.js) into the one
# module the app's wasm imports (app/js/bundle/, not committed). Needs the npm packages (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/esbuild app/js/markdown.js --bundle --format=esm --minify --log-level=warning \
  --outfile=app/js/bundle/markdown.js
