#!/usr/bin/env bash
# Installs `au` from this checkout for every user of the machine. Run it as yourself, not root:
# the build runs as you (so the clone never gets root-owned files), then a copy of the packed
# tarball is installed globally with sudo (not a symlink into your home, which other humans
# cannot read once `au new` has made it 0750). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
run() { printf '$ %s\n' "$*" >&2; "$@"; }

if [ "$(id -u)" = 0 ] && [ "${AU_INSTALL_AS_ROOT:-}" != 1 ]; then
  echo "install.sh: run this as yourself (it uses sudo for the system steps only)" >&2
  exit 2
fi
sudo=(sudo)
[ "$(id -u)" = 0 ] && sudo=()

# What building and running au needs from the system: a C compiler (the entrypoint is compiled
# by `au new`, the native addons by node-gyp), python3 (node-gyp), the ACL tools, sudo.
if [ "${AU_SKIP_APT:-}" != 1 ]; then
  run "${sudo[@]}" apt-get update -q
  run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    gcc g++ make libc6-dev python3 acl sudo
fi

. scripts/node-headers.sh

run npm ci --no-audit --no-fund
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run npm pack --ignore-scripts --silent --pack-destination "$tmp" >/dev/null
tarball=("$tmp"/agent-as-unix-user-*.tgz)
# The tarball carries the node-pty built above (bundled), so the global install builds nothing.
# AU_PREFIX: install under another prefix than npm's global one (the tests use it).
prefix=()
[ -n "${AU_PREFIX:-}" ] && prefix=(--prefix "$AU_PREFIX")
run "${sudo[@]}" npm install --global "${prefix[@]}" --ignore-scripts --no-audit --no-fund "${tarball[0]}"
au=${AU_PREFIX:+$AU_PREFIX/bin/}au
printf 'Installed %s (au %s)\n' "$(command -v "$au")" "$("$au" --version)" >&2
