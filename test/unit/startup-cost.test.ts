import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildSync } from 'esbuild';
import { REPO } from '../helpers/system.js';
import { tempDir } from '../helpers/temp.js';

// `au run` runs for every agent command: its bundle may load only cheap built-ins at start-up.
// child_process, crypto, net, tty... cost milliseconds each; they must be loaded lazily.
test('dist/run.cjs loads only cheap built-in modules at start-up', () => {
  const bundle = readFileSync(join(REPO, 'dist', 'run.cjs'), 'utf8');
  const loaded = new Set([...bundle.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
  assert.deepEqual([...loaded].filter((name) => !['node:fs', 'node:module', 'node:os', 'node:path', './au.cjs'].includes(name!)), []);
  assert.doesNotMatch(bundle, /class Command extends|CommanderError/, 'the run bundle must not contain the command-line library');
});

// What bin/au handed V8 for the run bundle, reported by a preload: whether a code cache was
// passed, and whether V8 took it.
const REPORT_CACHE = `
const vm = require('node:vm');
const Original = vm.Script;
vm.Script = class extends Original {
  constructor(source, options) {
    super(source, options);
    require('node:fs').writeFileSync(process.env.CACHE_REPORT, JSON.stringify({ passed: options.cachedData !== undefined, rejected: this.cachedDataRejected === true }));
  }
};`;

function cacheUse(pkg: string): { passed: boolean; rejected: boolean } {
  const dir = tempDir();
  writeFileSync(join(dir, 'report-cache.cjs'), REPORT_CACHE);
  const report = join(dir, 'report.json');
  // A config that does not exist: the run stops at "unknown agent", after the bundle loaded.
  const r = spawnSync(process.execPath, ['--require', join(dir, 'report-cache.cjs'), join(pkg, 'bin', 'au'), 'run', '--dry-run', '-C', join(dir, 'none.toml'), '-a', 'nobody', '--', 'true'], {
    env: { PATH: '/usr/bin:/bin', HOME: dir, CACHE_REPORT: report },
    encoding: 'utf8',
  });
  assert.match(r.stderr, /unknown agent "nobody"/);
  return JSON.parse(readFileSync(report, 'utf8')) as { passed: boolean; rejected: boolean };
}

/** bin/ and dist/ of this build, as an installed package would have them. */
function packageCopy(): string {
  const pkg = tempDir('au-unit-pkg-');
  for (const part of ['bin', 'dist', 'package.json']) cpSync(join(REPO, part), join(pkg, part), { recursive: true });
  return pkg;
}

test('bin/au runs the run bundle with the code cache the build made of it, and this Node takes it', () => {
  assert.deepEqual(cacheUse(REPO), { passed: true, rejected: false });
});

// The cache is compiled code: whoever can write it runs code as the human on the next `au run`.
test('attack: a code cache someone could write who cannot write the bundle is not used', { skip: process.getuid?.() !== 0 && 'needs root (chown)' }, () => {
  const pkg = packageCopy();
  const cache = join(pkg, 'dist', 'run.cjs.cache');
  assert.deepEqual(cacheUse(pkg), { passed: true, rejected: false }, 'the copy as built uses its cache');
  chmodSync(cache, 0o666);
  assert.equal(cacheUse(pkg).passed, false, 'a cache writable by others was used');
  chmodSync(cache, 0o644);
  chownSync(cache, 65534, 65534);
  assert.equal(cacheUse(pkg).passed, false, 'a cache owned by another user than the bundle was used');
});

/** broken-pipe.ts bundled as dist/ has it, run in a plain Node (no test loader has made stdio streams). */
function brokenPipeProgram(body: string): string {
  const { outputFiles } = buildSync({
    stdin: { contents: `import { exitQuietlyOnBrokenPipe } from './src/terminal/broken-pipe.ts';\n${body}`, resolveDir: REPO, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
  });
  return outputFiles[0]!.text;
}

test('the EPIPE handler makes no stdio stream: net and tty are not loaded until au writes', () => {
  const program = brokenPipeProgram(`
    const loaded = () => ['net', 'tty'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m));
    exitQuietlyOnBrokenPipe();
    const before = loaded();
    const listeners = process.stderr.listenerCount('error');
    require('node:fs').writeSync(3, JSON.stringify({ before, after: loaded(), listeners }));`);
  const r = spawnSync(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.output[3]!), { before: [], after: ['net'], listeners: 1 });
});

test('au whose reader went away still ends quietly with 141 (EPIPE on a stream made after the handler)', async () => {
  const program = brokenPipeProgram(`
    exitQuietlyOnBrokenPipe();
    const line = 'x'.repeat(4096) + '\\n';
    const write = () => { while (process.stdout.write(line)); process.stdout.once('drain', write); };
    write();`);
  const child = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 141);
  assert.equal(stderr, '');
});
