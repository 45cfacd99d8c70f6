// Bundles the CLI into dist/au.cjs (see ARCHITECTURE: one CommonJS file starts fastest).
// The C entrypoint source is embedded as text: `au new` compiles it on the user's machine.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

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
