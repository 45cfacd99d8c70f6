// The page's static files, built by scripts/build.mjs into dist/web (xterm.js bundled: nothing
// comes from a CDN). Read once, served from memory.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  type: string;
  body: Buffer;
}

const FILES: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/app.css': 'app.css',
  '/xterm.css': 'xterm.css',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** dist/web: next to the bundle (dist/au.cjs), or from the sources (tests run them unbundled). */
export function assetsDir(): string {
  if (typeof __dirname === 'string') return join(__dirname, 'web');
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'web');
}

export function loadAssets(dir = assetsDir()): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [path, file] of Object.entries(FILES)) {
    let body: Buffer;
    try {
      body = readFileSync(join(dir, file));
    } catch (error) {
      throw new Error(
        `the web observer's page is missing (${join(dir, file)}: ${(error as NodeJS.ErrnoException).code}); run the build (npm ci)`,
      );
    }
    assets.set(path, { type: TYPES[file.split('.').pop()!]!, body });
  }
  return assets;
}
