#!/usr/bin/env bash
# Builds the worker with worker-build, using the pinned tools installed by scripts/setup.sh instead of
# letting worker-build download them from GitHub (unreachable here; ../shared/TOOLCHAIN.md, gotcha 1).
#
# `wrangler dev` runs this as its build command. Set DATASAGE_PREBUILT=1 to skip the build when the worker
# was already built (the integration tests build once, then start several wrangler instances).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ "${DATASAGE_PREBUILT:-}" = "1" ] && [ -f "$root/worker/build/worker/shim.mjs" ]; then
  exit 0
fi
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$root/node_modules/@esbuild/linux-x64/bin/esbuild"
cd "$root/worker"
profile="--release"
[ "${DATASAGE_WORKER_DEV:-}" = "1" ] && profile="--dev"
exec worker-build "$profile"
