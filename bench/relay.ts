// npm run bench: the relay's throughput with the output filter, next to no filter and the old
// clipboard filter (target: within 5% of unfiltered). Needs no root.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

const dir = mkdtempSync(join(tmpdir(), 'au-bench-relay-'));
try {
  // What a TUI prints: text, colours, cursor moves, some UTF-8 (about 32 MB).
  const line =
    'src/terminal/output-filter.ts \x1b[32m+42\x1b[0m \x1b[31m-7\x1b[0m │ é ü “quoted” 日本 ✓ \x1b[1mbold\x1b[22m \x1b[38;2;10;200;30mrgb\x1b[39m\x1b[K\r\n';
  writeFileSync(join(dir, 'output.txt'), line.repeat(Math.ceil((32 << 20) / Buffer.byteLength(line))));
  const worker = join(dir, 'relay-worker.cjs');
  buildSync({
    entryPoints: [join(import.meta.dirname, 'relay-worker.ts')],
    outfile: worker,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    external: ['node-pty'],
    logLevel: 'warning',
    nodePaths: [join(import.meta.dirname, '..', 'node_modules')],
  });
  const r = spawnSync(process.execPath, [worker, join(dir, 'output.txt'), process.env.AU_BENCH_RELAY_ROUNDS ?? '7'], {
    stdio: 'inherit',
    env: { ...process.env, NODE_PATH: join(import.meta.dirname, '..', 'node_modules') },
  });
  if (r.status !== 0) throw new Error(`relay benchmark failed (${r.status})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
