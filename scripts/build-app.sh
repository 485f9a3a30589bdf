#!/usr/bin/env bash
# Builds the Leptos app into dist/: its JS module (scripts/bundle-js.sh), cargo (wasm32) → wasm-bindgen
# --target web → wasm-opt -Oz (binaryen from npm; Debian's wasm-opt produces broken wasm), plus index.html,
# its start script, the response headers (`_headers`: the Content-Security-Policy) and the stylesheet.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
out="$root/dist"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

# Size (the budget is 300 KB gzip for wasm + JS; the README says what each feature costs). Leptos
# components are type-erased (`erase_components`: far less generic view code). With rust-src (setup.sh adds it), std is rebuilt with the app's opt-level and
# with panics that trap at once, so no panic-message formatting is linked in; `build-std` is an unstable cargo
# feature, enabled by RUSTC_BOOTSTRAP for this one build on the pinned stable toolchain. Without rust-src the
# prebuilt std is used: the same app, about 40 KB larger. Its own target dir, as these flags differ from every
# other build's.
bash scripts/bundle-js.sh
app_target="$target_dir/app"
rustflags="--cfg erase_components"
build_std=()
if [ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
  export RUSTC_BOOTSTRAP=1
  rustflags="$rustflags -Zunstable-options -Cpanic=immediate-abort"
  build_std=(-Z build-std=std,panic_abort)
else
  echo "build-app: rust-src is missing; building with the prebuilt std (a larger app)" >&2
fi
RUSTFLAGS="$rustflags" CARGO_TARGET_DIR="$app_target" \
  cargo build "${build_std[@]}" --release --target wasm32-unknown-unknown -p datasage-app
rm -rf "$out.tmp" && mkdir -p "$out.tmp/pkg" "$out.tmp/style"
wasm-bindgen --target web --no-typescript --out-dir "$out.tmp/pkg" --out-name datasage_app \
  "$app_target/wasm32-unknown-unknown/release/datasage-app.wasm"
"$root/node_modules/.bin/wasm-opt" -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out.tmp/pkg/datasage_app_bg.wasm" -o "$out.tmp/pkg/datasage_app_bg.wasm"
cp app/index.html app/start.js app/_headers "$out.tmp/"
cp style/*.css "$out.tmp/style/"
# The sample dataset, which its Durable Object loads from the static assets on first use.
mkdir -p "$out.tmp/data" && cp data/sample_sales.csv "$out.tmp/data/"
# Swap in whole, so a server watching dist/ never sees half a build.
rm -rf "$out" && mv "$out.tmp" "$out"
echo "app built: $(du -b "$out/pkg/datasage_app_bg.wasm" | cut -f1) bytes wasm"
