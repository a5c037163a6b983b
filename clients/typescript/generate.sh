#!/usr/bin/env bash
# src/schema.ts from the gateway's merged OpenAPI document (`c2r openapi`), with the
# generator pinned in package-lock.json. Writes to $1 (default: src/schema.ts).
set -euo pipefail
cd "$(dirname "$0")"
client="$(pwd)"
output="${1:-src/schema.ts}"
document="$(mktemp -d)"
trap 'rm -rf "$document"' EXIT
"${client%/clients/typescript}/.venv/bin/c2r" openapi --output "$document/openapi.json" >/dev/null
./node_modules/.bin/openapi-typescript "$document/openapi.json" --output "$output" >/dev/null
