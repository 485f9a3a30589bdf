#!/usr/bin/env bash
# Builds the Leptos app into dist/: cargo (wasm32) → wasm-bindgen --target web → wasm-opt -Oz (binaryen from
# npm; Debian's wasm-opt produces broken wasm), plus index.html and the stylesheet.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
out="$root/dist"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

cargo build --release --target wasm32-unknown-unknown -p datasage-app
rm -rf "$out.tmp" && mkdir -p "$out.tmp/pkg" "$out.tmp/style"
wasm-bindgen --target web --no-typescript --out-dir "$out.tmp/pkg" --out-name datasage_app \
  "$target_dir/wasm32-unknown-unknown/release/datasage-app.wasm"
"$root/node_modules/.bin/wasm-opt" -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out.tmp/pkg/datasage_app_bg.wasm" -o "$out.tmp/pkg/datasage_app_bg.wasm"
cp app/index.html "$out.tmp/index.html"
cp style/*.css "$out.tmp/style/"
# Swap in whole, so a server watching dist/ never sees half a build.
rm -rf "$out" && mv "$out.tmp" "$out"
echo "app built: $(du -b "$out/pkg/datasage_app_bg.wasm" | cut -f1) bytes wasm"
