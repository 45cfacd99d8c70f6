// The setuid entrypoint must stay warning-free under more warnings than `au new` enables (and
// than its targeted -Werror= flags make fatal), and under GCC's static analyzer: any finding
// fails here, in CI, rather than on a user's compiler.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compileFlagsFor } from '../../src/entrypoint/install.js';
import { REPO } from '../helpers/system.js';

const SOURCE = join(REPO, 'src', 'entrypoint', 'su_as_agent.c');
const identity = {
  agentName: 'aut-build',
  agentUid: 1500,
  agentGid: 1500,
  driverGroup: 'su-as-aut-build',
  driverGid: 1501,
  agentHome: '/home/aut-build',
};
const defines = compileFlagsFor(identity).filter((f) => f.startsWith('-DAGENT_') || f.startsWith('-DDRIVER_'));
const work = mkdtempSync(join(tmpdir(), 'aut-entrypoint-build-'));
after(() => rmSync(work, { recursive: true, force: true }));

function compile(compiler: string, flags: readonly string[], output: string): { status: number | null; diagnostics: string } {
  const r = spawnSync(compiler, [...flags, '-o', join(work, output), SOURCE], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status, diagnostics: r.stderr };
}

test('the entrypoint builds with the flags au new uses, with no diagnostic', () => {
  const r = compile('cc', compileFlagsFor(identity), 'su_as_agent');
  assert.equal(r.status, 0, r.diagnostics);
  assert.equal(r.diagnostics, '');
});

test('the entrypoint has no warning with -Wall -Wextra -Wconversion -Wshadow -Wformat=2', () => {
  const r = compile(
    'gcc',
    ['-O2', '-c', '-Wall', '-Wextra', '-Wconversion', '-Wshadow', '-Wformat=2', '-U_FORTIFY_SOURCE', '-D_FORTIFY_SOURCE=3', ...defines],
    'strict.o',
  );
  assert.equal(r.status, 0, r.diagnostics);
  assert.equal(r.diagnostics, '', 'warnings');
});

test('gcc -fanalyzer finds nothing in the entrypoint', () => {
  const r = compile('gcc', ['-O2', '-c', '-fanalyzer', ...defines], 'analyzed.o');
  assert.equal(r.status, 0, r.diagnostics);
  assert.equal(r.diagnostics, '', 'analyzer findings');
});
