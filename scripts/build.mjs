// Bundles the CLI into dist/au.cjs (see ARCHITECTURE: one CommonJS file starts fastest).
// The C entrypoint source is embedded as text: `au new` compiles it on the user's machine.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';

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
await build({ ...common, entryPoints: ['src/cli/run-entry.ts'], outfile: 'dist/run.cjs', external: [...common.external, './au.cjs'], loader: { '.c': 'empty' } });

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
