// Starts the app: loads the wasm module. A file of its own, not an inline script, so the page's
// Content-Security-Policy can forbid inline scripts.
import init from "/pkg/datasage_app.js";

init({ module_or_path: "/pkg/datasage_app_bg.wasm" });
