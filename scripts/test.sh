#!/usr/bin/env bash
# The whole suite: type check, build, unit tests, then the end-to-end and attack tests on the
# real machine (they need root: they create users, groups, setuid binaries and mounts).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit
node scripts/build.mjs
files=(test/unit/*.test.ts)
if [ "$(id -u)" = 0 ]; then
  files+=(test/e2e/*.test.ts)
else
  echo "not root: skipping the end-to-end tests (they create real users); run npm test as root" >&2
fi
exec node --import ./test/helpers/register.mjs --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec "${files[@]}"
