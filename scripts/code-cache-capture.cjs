'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload (node --require) */
// Preloaded (node --require) into the training run of scripts/build.mjs: keeps the vm.Script
// that bin/au compiles the `au run` bundle into, and writes its V8 code cache when the run ends.
// Made after the run, the cache holds every function the run compiled, not only the top level.
//
// So that the training run takes the whole path of a real `au run -- true` (config, checks,
// plan, exec), this process alone is shown a made-up entrypoint: AU_TRAINING_ENTRYPOINT and
// the directories above it look root-owned and locked down, its content is
// AU_TRAINING_CONTENT, and the execve at the end ends the training instead. Nothing is
// installed or executed; the cache holds compiled code only, no value seen here.
const fs = require('node:fs');
const vm = require('node:vm');

const out = process.env.AU_CODE_CACHE_OUT;
const entrypoint = process.env.AU_TRAINING_ENTRYPOINT;
const content = process.env.AU_TRAINING_CONTENT;
if (!out || !entrypoint || content === undefined)
  throw new Error('code-cache-capture.cjs: AU_CODE_CACHE_OUT, AU_TRAINING_ENTRYPOINT and AU_TRAINING_CONTENT must be set');

const OriginalScript = vm.Script;
let captured;
vm.Script = function Script(...args) {
  captured = new OriginalScript(...args);
  return captured;
};
process.on('exit', () => {
  if (captured) fs.writeFileSync(out, captured.createCachedData(), { mode: 0o644 });
});

const isAbove = (path) => path === '/' || entrypoint.startsWith(`${path}/`);
const madeUp = (path) => {
  const file = path === entrypoint;
  const stats = Object.create(fs.Stats.prototype);
  return Object.assign(stats, { uid: 0, gid: process.getgid(), mode: file ? 0o100000 | 0o4750 : 0o040000 | 0o755 });
};
const { lstatSync, readFileSync } = fs;
fs.lstatSync = function (path, ...rest) {
  return typeof path === 'string' && (path === entrypoint || isAbove(path)) ? madeUp(path) : lstatSync.call(this, path, ...rest);
};
fs.readFileSync = function (path, ...rest) {
  return path === entrypoint ? Buffer.from(content) : readFileSync.call(this, path, ...rest);
};
const { dlopen } = process;
process.dlopen = function (module, ...rest) {
  dlopen.call(this, module, ...rest);
  if (typeof module.exports.execve === 'function') module.exports = { ...module.exports, execve: () => process.exit(0) };
};
