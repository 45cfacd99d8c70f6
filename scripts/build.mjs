// Bundles the CLI into dist/au.cjs (see ARCHITECTURE: one CommonJS file starts fastest).
// The C entrypoint source is embedded as text: `au new` compiles it on the user's machine.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// What the embedded entrypoint is built from (src/entrypoint/build-stamp.ts computes the same
// when run unbundled): defined here so that `au run` checks it without the C source in its bundle.
const flagsModule = await build({
  entryPoints: ['src/entrypoint/flags.ts'],
  bundle: true,
  write: false,
  format: 'cjs',
  platform: 'node',
  logLevel: 'warning',
});
const flagsModuleObject = { exports: {} };
new Function('module', 'exports', flagsModule.outputFiles[0].text)(flagsModuleObject, flagsModuleObject.exports);
const { COMPILER_FLAGS } = flagsModuleObject.exports;
if (!Array.isArray(COMPILER_FLAGS)) throw new Error('src/entrypoint/flags.ts: COMPILER_FLAGS not found');
const source = readFileSync(new URL('../src/entrypoint/su_as_agent.c', import.meta.url), 'utf8');
const entrypointBuild = createHash('sha256')
  .update(JSON.stringify({ source, flags: COMPILER_FLAGS }))
  .digest('hex');

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
 * `au run -- true` of bin/au itself on a throwaway config whose agent's entrypoint is made up
 * (scripts/code-cache-capture.cjs shows it to that process alone, and ends the run at its
 * execve), so that the cache holds the functions of the whole path: config, checks, plan,
 * exec. The cache is only compiled code; what a run compiles beyond it is compiled as usual.
 */
function writeRunCodeCache() {
  const cache = 'dist/run.cjs.cache';
  rmSync(cache, { force: true });
  const home = mkdtempSync(join(tmpdir(), 'au-code-cache-'));
  try {
    const config = join(home, 'config.toml');
    const agent = 'au-code-cache-training';
    const entrypoint = join(home, 'made-up', 'su_as_agent');
    const content = 'au code cache training\n';
    const [uid, gid] = [process.getuid(), process.getgid()];
    // Shaped like a record au new writes, with one share (in the home of whoever builds: the
    // planner checks that, nothing reads it); the group is this process's own, so that the
    // run does not re-run itself under sg.
    writeFileSync(
      config,
      [
        '[[agents]]',
        `user_name = "${agent}"`,
        `su_as_agent_group = "su-as-${agent}"`,
        `entrypoint = "${entrypoint}"`,
        `entrypoint_sha256 = "${createHash('sha256').update(content).digest('hex')}"`,
        'bootstrapped = true',
        `mounts = [{ source = "${join(userInfo().homedir, agent)}", target = "/home/${agent}/work", read_only = true }]`,
        `group_gid = ${gid}`,
        `uid = ${uid}`,
        `gid = ${gid}`,
        `entrypoint_build = "${entrypointBuild}"`,
        '',
      ].join('\n'),
    );
    const run = spawnSync(
      process.execPath,
      ['--require', resolve('scripts/code-cache-capture.cjs'), resolve('bin/au'), 'run', '-C', config, '-a', agent, '--', 'true'],
      {
        cwd: home,
        env: {
          HOME: home,
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          AU_CODE_CACHE_OUT: resolve(cache),
          AU_TRAINING_ENTRYPOINT: entrypoint,
          AU_TRAINING_CONTENT: content,
        },
        encoding: 'utf8',
      },
    );
    // Without the native addon (not built yet) au would spawn the entrypoint, which is not there.
    const reachedExec = run.status === 0 || !existsSync('native/build/Release/au_native.node');
    if (!reachedExec || !existsSync(cache))
      throw new Error(`the code cache's training run of au run failed (exit ${run.status}): ${run.stderr}`);
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
