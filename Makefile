# DataSage: `make dev` serves the product on http://127.0.0.1:8787; `make test` runs every test layer.
# Both install what is missing first (scripts/setup.sh: idempotent, version-pinned).

SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false

.PHONY: dev test bench setup setup-test app worker migrate lint unit components integration e2e

dev: setup app .dev.vars migrate
	wrangler dev --ip 127.0.0.1 --port 8787

test: setup-test lint unit components app worker integration e2e

# Benchmarks print figures; they are run on demand, never as pass/fail tests.
bench: setup
	cargo bench -p datasage-shared
	bash scripts/build-worker.sh
	cargo run --release -p datasage-tests --bin bench-datasets
	cargo run --release -p datasage-tests --bin bench-isolation
	cargo run --release -p datasage-tests --bin bench-routing
	node benches/glue.mjs
	cargo run --release -p datasage-tests --bin bench-hub
	cargo run --release -p datasage-tests --bin bench-usage
	bash scripts/build-app.sh
	cargo build --release -p datasage-tests --bin mock-provider
	node tests/e2e/bench-streaming.mjs

setup:
	bash scripts/setup.sh

setup-test:
	bash scripts/setup.sh --test

.dev.vars:
	bash scripts/init-dev-vars.sh

app:
	bash scripts/build-app.sh

worker:
	bash scripts/build-worker.sh

migrate:
	wrangler d1 migrations apply DB --local

lint:
	cargo fmt --all --check
	cargo clippy -p datasage-shared -p datasage-tests --all-targets -- -D warnings
	cargo clippy -p datasage-worker --target wasm32-unknown-unknown -- -D warnings
	cargo clippy -p datasage-worker --lib --tests -- -D warnings
	bash scripts/bundle-js.sh
	cargo clippy -p datasage-app --target wasm32-unknown-unknown --all-targets -- -D warnings

# Pure logic, natively: the shared crate, the worker's own pure pieces (its request-path code needs
# workerd and is tested through wrangler dev in `integration`), and the guard's event follower in Node.
unit:
	cargo test -p datasage-shared
	cargo test -p datasage-worker --lib
	node --test tests/js/*.test.mjs

# The app's components in real Chromium, through chromedriver (app/webdriver.json holds its flags).
components:
	bash scripts/bundle-js.sh
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner CHROMEDRIVER=/usr/bin/chromedriver \
	  cargo test -p datasage-app --target wasm32-unknown-unknown

integration:
	cargo test -p datasage-tests

e2e:
	node --test --test-concurrency=1 tests/e2e/*.test.mjs
