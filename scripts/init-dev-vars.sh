#!/usr/bin/env bash
# Creates .dev.vars (gitignored) for local development from .dev.vars.example, with a random JWT secret.
# Never overwrites an existing file: that is where your provider keys live.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .dev.vars ] && exit 0
secret="$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n')"
sed "s/^JWT_SECRET=.*/JWT_SECRET=$secret/" .dev.vars.example > .dev.vars
echo "created .dev.vars with a fresh JWT_SECRET (add provider keys there to use a real LLM)"
