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
worker-build "$profile"
# worker-build keeps the wasm's function names (it passes --debuginfo to wasm-opt); they are a tenth of the
# deployed size (~100 KB gzip), and a panic's message and place are logged anyway ("Rust panic: panicked at
# worker/src/…:line").
# DATASAGE_WORKER_NAMES=1 keeps them, for CPU profiles (benches/profile.mjs).
if [ "$profile" = "--release" ] && [ "${DATASAGE_WORKER_NAMES:-}" != "1" ]; then
  "$WASM_OPT_BIN" --strip-debug --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-exception-handling \
    build/index_bg.wasm -o build/index_bg.wasm
fi
