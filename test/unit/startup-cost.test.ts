import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from '../helpers/system.js';

// `au run` runs for every agent command: its bundle may load only cheap built-ins at start-up.
// child_process, crypto, net, tty... cost milliseconds each; they must be loaded lazily.
test('dist/run.cjs loads only cheap built-in modules at start-up', () => {
  const bundle = readFileSync(join(REPO, 'dist', 'run.cjs'), 'utf8');
  const loaded = new Set([...bundle.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
  assert.deepEqual([...loaded].filter((name) => !['node:fs', 'node:module', 'node:os', 'node:path', './au.cjs'].includes(name!)), []);
  assert.doesNotMatch(bundle, /class Command extends|CommanderError/, 'the run bundle must not contain the command-line library');
});
