#!/usr/bin/env bash
# The whole suite: type check, build, unit tests, then the end-to-end and attack tests on the
# real machine (they need root: they create users, groups, setuid binaries and mounts).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit
# `sudo npm test` in a checkout of a user's: build as that user, so dist/ stays theirs (a later
# `npm ci` of theirs must be able to replace it).
owner=$(stat -c %U .)
if [ "$(id -u)" = 0 ] && [ "$owner" != root ]; then
  runuser -u "$owner" -- node scripts/build.mjs
else
  node scripts/build.mjs
fi
files=(test/unit/*.test.ts)
if [ "$(id -u)" = 0 ]; then
  files+=(test/e2e/*.test.ts)
else
  echo "not root: skipping the end-to-end tests (they create real users); run npm test as root" >&2
fi
exec node --import ./test/helpers/register.mjs --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec "${files[@]}"
