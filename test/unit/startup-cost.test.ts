import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { chmodSync, chownSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildSync } from 'esbuild';
import type { AuNative } from '../../src/system/native.js';
import { currentHuman } from '../../src/system/human.js';
import { REPO } from '../helpers/system.js';
import { tempDir } from '../helpers/temp.js';

// `au run` runs for every agent command: its bundle may load only cheap built-ins at start-up.
// child_process, crypto, net, tty... cost milliseconds each; they must be loaded lazily.
// (An import() in the sources is a require() in the bundle, made when that import() runs.)
test('dist/run.cjs loads only cheap built-in modules at start-up', () => {
  const bundle = readFileSync(join(REPO, 'dist', 'run.cjs'), 'utf8');
  const loaded = new Set([...bundle.matchAll(/(?<!__toESM\()require\("([^"]+)"\)/g)].map((m) => m[1]));
  assert.deepEqual(
    [...loaded].filter((name) => !['node:fs', 'node:path', './au.cjs'].includes(name!)),
    [],
  );
  assert.doesNotMatch(bundle, /class Command extends|CommanderError/, 'the run bundle must not contain the command-line library');
});

// bin/au runs the bundle as a vm.Script: an import() there fails ("A dynamic import callback
// was not specified") unless Node's experimental loader hook is given, which warns on stderr.
test('dist/run.cjs has no import(): the build makes them require()', () => {
  assert.doesNotMatch(readFileSync(join(REPO, 'dist', 'run.cjs'), 'utf8'), /\bimport\(/);
});

// A preload's report on an `au run` through bin/au: whether a code cache was handed to V8 for
// the run bundle and whether V8 took it, and the built-in modules loaded besides Node's own.
const REPORT = `
const { writeFileSync } = require('node:fs');
const vm = require('node:vm');
const before = new Set(process.moduleLoadList);
const Original = vm.Script;
const report = { loaded: [] };
vm.Script = function Script(source, options) {
  const script = new Original(source, options);
  Object.assign(report, { passed: options.cachedData !== undefined, rejected: script.cachedDataRejected === true });
  return script;
};
process.on('exit', () => {
  report.loaded = process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule ')).map((m) => m.slice(13));
  writeFileSync(process.env.AU_REPORT, JSON.stringify(report));
});`;

interface RunReport {
  passed: boolean;
  rejected: boolean;
  loaded: string[];
}

function reportRun(pkg: string): RunReport {
  const dir = tempDir();
  writeFileSync(join(dir, 'report.cjs'), REPORT);
  const report = join(dir, 'report.json');
  // A config that does not exist: the run stops at "unknown agent", after the bundle loaded.
  const r = spawnSync(
    process.execPath,
    [
      '--require',
      join(dir, 'report.cjs'),
      join(pkg, 'bin', 'au'),
      'run',
      '--dry-run',
      '-C',
      join(dir, 'none.toml'),
      '-a',
      'nobody',
      '--',
      'true',
    ],
    {
      env: { PATH: '/usr/bin:/bin', HOME: dir, AU_REPORT: report },
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    },
  );
  assert.match(r.stderr, /unknown agent "nobody"/);
  return JSON.parse(readFileSync(report, 'utf8')) as RunReport;
}

const cacheUse = (pkg: string): Omit<RunReport, 'loaded'> => {
  const { passed, rejected } = reportRun(pkg);
  return { passed, rejected };
};

test('au run loads no costly built-in on its way, bin/au included (module brings the ESM loader)', () => {
  // (net is loaded here by the error message on stderr, a pipe: a run that execs writes nothing.)
  const costly = ['module', 'os', 'child_process', 'crypto', 'tty', 'internal/modules/esm/loader', 'util'];
  assert.deepEqual(
    reportRun(REPO).loaded.filter((m) => costly.includes(m)),
    [],
  );
});

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
test(
  'attack: a code cache someone could write who cannot write the bundle is not used',
  { skip: process.getuid?.() !== 0 && 'needs root (chown)' },
  () => {
    const pkg = packageCopy();
    const cache = join(pkg, 'dist', 'run.cjs.cache');
    assert.deepEqual(cacheUse(pkg), { passed: true, rejected: false }, 'the copy as built uses its cache');
    chmodSync(cache, 0o666);
    assert.equal(cacheUse(pkg).passed, false, 'a cache writable by others was used');
    chmodSync(cache, 0o644);
    chownSync(cache, 65534, 65534);
    assert.equal(cacheUse(pkg).passed, false, 'a cache owned by another user than the bundle was used');
  },
);

/** broken-pipe.ts bundled as dist/ has it, run in a plain Node (no test loader has made stdio streams). */
function brokenPipeProgram(body: string): string {
  const { outputFiles } = buildSync({
    stdin: {
      contents: `import { exitQuietlyOnBrokenPipe } from './src/terminal/broken-pipe.ts';\n${body}`,
      resolveDir: REPO,
      loader: 'ts',
    },
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

test('the native passwd entry that spares au run the os module is the one os.userInfo reads', () => {
  const info = userInfo();
  const expected = { name: info.username, uid: info.uid, gid: info.gid, home: info.homedir };
  const native = createRequire(import.meta.url)('../../native/build/Release/au_native.node') as AuNative;
  assert.deepEqual(native.passwd(), expected);
  assert.deepEqual(currentHuman(), expected);
});
