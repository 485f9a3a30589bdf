#!/usr/bin/env bash
# Installs everything `make dev` and `make test` need, skipping what is already present at the pinned version.
# Idempotent; fetches only from crates.io, the npm registry, Debian's packages and rustup's own components (see
# ../shared/TOOLCHAIN.md).
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130
WORKER_BUILD_VERSION=0.8.7
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
# The first version number a command prints (`wasm-bindgen 0.2.130`, `0.8.7`), or nothing.
version_of() { "$@" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1; }

need_test_tools=false
[ "${1:-}" = "--test" ] && need_test_tools=true

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The app's release build rebuilds std from source, smaller (scripts/build-app.sh); it builds without it too.
if ! rustup component list --installed | grep -q '^rust-src'; then
  log "adding rust-src"
  rustup component add rust-src || log "rust-src unavailable: the app builds with the prebuilt std (larger)"
fi

if [ "$(version_of wasm-bindgen)" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 10 minutes the first time)"
  # Without --locked: a dependency pinned in its lockfile is no longer in the registry.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ "$(version_of worker-build)" != "$WORKER_BUILD_VERSION" ]; then
  log "installing worker-build $WORKER_BUILD_VERSION (about 14 minutes the first time)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --force
fi

if ! command -v npm >/dev/null 2>&1; then
  log "installing Node.js and npm from Debian (wrangler's own Node 22 comes from npm below)"
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi

# npm install (not npm ci: the registry lacks other platforms' workerd packages pinned in the lockfile),
# with --no-save so it installs what the lockfile pins without writing this platform's entries back to it.
stamp=node_modules/.datasage-installed
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  log "installing npm packages (wrangler, Node 22, binaryen, playwright-core)"
  npm install --no-save --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

if $need_test_tools && ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then
  log "installing Debian's Chromium and ChromeDriver for the browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
fi

log "toolchain ready"
