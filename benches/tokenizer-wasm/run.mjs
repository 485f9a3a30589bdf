// Builds nothing: expects pkg/ from `make bench`. Each measurement runs in a fresh Node process, so every
// "first count" is a true cold start.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const mode = process.argv[2];
if (mode) {
  const m = (await import(`${here}pkg/datasage_bench_tokenizer_wasm.js`)).default;
  const text = Array.from({ length: 3000 }, (_, i) => `Row ${i}: the **West** region leads with 392,335.43 — café, 東京 😀. `)
    .join("").slice(0, 100_000);
  const f = { prepared: () => m.prepared_first_count_ms(), tiktoken: () => m.tiktoken_first_count_ms(),
    per100k: () => m.prepared_count_ms(text), tiktoken100k: () => m.tiktoken_count_ms(text) }[mode];
  console.log(f());
} else {
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const runs = (mode) => Array.from({ length: 5 }, () =>
    Number(execFileSync(process.execPath, [fileURLToPath(import.meta.url), mode]).toString()));
  console.log("token counting in wasm32 under V8 (median of 5 fresh processes)");
  console.log(`  cold start, tiktoken-rs o200k_base()   ${median(runs("tiktoken")).toFixed(0).padStart(5)} ms`);
  console.log(`  cold start, tokens::count (prepared)   ${median(runs("prepared")).toFixed(0).padStart(5)} ms`);
  console.log(`  per 100 KB, tiktoken-rs (warm)         ${median(runs("tiktoken100k")).toFixed(0).padStart(5)} ms`);
  console.log(`  per 100 KB, tokens::count (warm)       ${median(runs("per100k")).toFixed(0).padStart(5)} ms`);
}
