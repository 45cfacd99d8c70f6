# Sourced by install.sh and .ci/run: build native addons (node-pty, native/) against the headers
# of the Node that runs them when that Node ships them (nodejs.org, NodeSource), so node-gyp
# downloads nothing from outside the npm registry.
au_nodedir=$(node -p 'require("path").resolve(process.execPath, "..", "..")')
if [ -f "$au_nodedir/include/node/node.h" ]; then
  export npm_config_nodedir="$au_nodedir"
else
  echo "note: no Node headers in $au_nodedir/include/node: node-gyp will download them" >&2
fi
unset au_nodedir
