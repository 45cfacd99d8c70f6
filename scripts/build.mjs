// Bundles the CLI into dist/au.cjs (see ARCHITECTURE: one CommonJS file starts fastest).
// The C entrypoint source is embedded as text: `au new` compiles it on the user's machine.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['node-pty'],
  loader: { '.c': 'text' },
  define: { __AU_VERSION__: JSON.stringify(version) },
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
  // lazy-require.ts reads import.meta only when running unbundled (tests).
  logOverride: { 'empty-import-meta': 'silent' },
};

await build({ ...common, entryPoints: ['src/cli/entry.ts'], outfile: 'dist/au.cjs' });
// The lean bundle for `au run`; it requires au.cjs only when it must fall back to the full CLI.
await build({ ...common, entryPoints: ['src/cli/run-entry.ts'], outfile: 'dist/run.cjs', external: [...common.external, './au.cjs'] });

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
