#!/usr/bin/env bash
# The committed client is what the pinned generator makes of today's merged document, and
# it compiles with `tsc --strict`.
set -euo pipefail
cd "$(dirname "$0")"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
./generate.sh "$fresh/schema.ts"
if ! diff -u src/schema.ts "$fresh/schema.ts" >"$fresh/drift.diff"; then
  head -n 60 "$fresh/drift.diff"
  echo "clients/typescript/src/schema.ts differs from the merged OpenAPI document: run \`make client\` and commit it" >&2
  exit 1
fi
./node_modules/.bin/tsc --strict --noEmit -p .
echo "clients/typescript: up to date with the merged document, compiles with tsc --strict"
