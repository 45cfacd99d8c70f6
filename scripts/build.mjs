// Bundles the CLI into dist/au.cjs (see ARCHITECTURE: one CommonJS file starts fastest).
// The C entrypoint source is embedded as text: `au new` compiles it on the user's machine.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// What the embedded entrypoint is built from (src/entrypoint/build-stamp.ts computes the same
// when run unbundled): defined here so that `au run` checks it without the C source in its bundle.
const flagsModule = await build({ entryPoints: ['src/entrypoint/flags.ts'], bundle: true, write: false, format: 'cjs', platform: 'node', logLevel: 'warning' });
const flagsModuleObject = { exports: {} };
new Function('module', 'exports', flagsModule.outputFiles[0].text)(flagsModuleObject, flagsModuleObject.exports);
const { COMPILER_FLAGS } = flagsModuleObject.exports;
if (!Array.isArray(COMPILER_FLAGS)) throw new Error('src/entrypoint/flags.ts: COMPILER_FLAGS not found');
const source = readFileSync(new URL('../src/entrypoint/su_as_agent.c', import.meta.url), 'utf8');
const entrypointBuild = createHash('sha256').update(JSON.stringify({ source, flags: COMPILER_FLAGS })).digest('hex');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['node-pty'],
  loader: { '.c': 'text' },
  define: { __AU_VERSION__: JSON.stringify(version), __AU_ENTRYPOINT_BUILD__: JSON.stringify(entrypointBuild) },
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
  // lazy-require.ts reads import.meta only when running unbundled (tests).
  logOverride: { 'empty-import-meta': 'silent' },
};

await build({ ...common, entryPoints: ['src/cli/entry.ts'], outfile: 'dist/au.cjs' });
// The lean bundle for `au run`; it requires au.cjs only when it must fall back to the full CLI.
// It needs no C source: the entrypoint's build stamp is defined above (build-stamp.ts).
// import() of what is not bundled (node:tty, node-pty) becomes require(): bin/au runs this
// bundle as a vm.Script, where import() would need Node's experimental vm loader hook.
await build({
  ...common,
  entryPoints: ['src/cli/run-entry.ts'],
  outfile: 'dist/run.cjs',
  external: [...common.external, './au.cjs'],
  loader: { '.c': 'empty' },
  supported: { 'dynamic-import': false },
});
writeRunCodeCache();

/**
 * dist/run.cjs.cache, the V8 code cache bin/au loads the run bundle with: made by a training
 * `au run --dry-run` of bin/au itself on a throwaway config (its agent's entrypoint does not
 * exist, so the run stops at the entrypoint check, having compiled the config reading, the
 * parser, the health check and the CLI around them). The cache is only compiled code: a run
 * that goes further compiles the rest as it would without a cache.
 */
function writeRunCodeCache() {
  const cache = 'dist/run.cjs.cache';
  rmSync(cache, { force: true });
  const home = mkdtempSync(join(tmpdir(), 'au-code-cache-'));
  try {
    const config = join(home, 'config.toml');
    const agent = 'au-code-cache-training';
    const [uid, gid] = [process.getuid(), process.getgid()];
    // Shaped like a record au new writes; the group is this process's own, so that the run does
    // not re-run itself under sg.
    writeFileSync(config, [
      '[[agents]]',
      `user_name = "${agent}"`,
      `su_as_agent_group = "su-as-${agent}"`,
      `entrypoint = "${join(home, 'missing', 'su_as_agent')}"`,
      `entrypoint_sha256 = "${'0'.repeat(64)}"`,
      'bootstrapped = true',
      `mounts = [{ source = "${home}", target = "/home/${agent}/work", read_only = true }]`,
      `group_gid = ${gid}`,
      `uid = ${uid}`,
      `gid = ${gid}`,
      `entrypoint_build = "${entrypointBuild}"`,
      '',
    ].join('\n'));
    const run = spawnSync(process.execPath, ['--require', './scripts/code-cache-capture.cjs', 'bin/au', 'run', '--dry-run', '-C', config, '-a', agent, '--', 'true'], {
      env: { HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin', AU_CODE_CACHE_OUT: cache },
      encoding: 'utf8',
    });
    if (!existsSync(cache)) throw new Error(`no code cache from the training run (exit ${run.status}): ${run.stderr}`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

// The web observer's page (au server run --web): xterm.js bundled for the browser, and the
// static files next to it in dist/web. Nothing is fetched from a CDN at run time.
await build({
  entryPoints: ['src/web/main.ts'],
  outfile: 'dist/web/app.js',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
mkdirSync('dist/web', { recursive: true });
copyFileSync('src/web/index.html', 'dist/web/index.html');
copyFileSync('src/web/app.css', 'dist/web/app.css');
copyFileSync('node_modules/@xterm/xterm/css/xterm.css', 'dist/web/xterm.css');
