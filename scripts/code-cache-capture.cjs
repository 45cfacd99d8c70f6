'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload (node --require) */
// Preloaded (node --require) into the training run of scripts/build.mjs: keeps the vm.Script
// that bin/au compiles the `au run` bundle into, and writes its V8 code cache when the run ends.
// Made after the run, the cache holds every function the run compiled, not only the top level.
const { writeFileSync } = require('node:fs');
const vm = require('node:vm');

const out = process.env.AU_CODE_CACHE_OUT;
if (!out) throw new Error('code-cache-capture.cjs: AU_CODE_CACHE_OUT is not set');
const OriginalScript = vm.Script;
let captured;
vm.Script = function Script(...args) {
  captured = new OriginalScript(...args);
  return captured;
};
process.on('exit', () => {
  if (captured) writeFileSync(out, captured.createCachedData(), { mode: 0o644 });
});
