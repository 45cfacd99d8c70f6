// Every error class of au, walked from the source: each is an AuError, usage errors exit 2 and
// everything else 1; errno errors are shown with what failed, the path and a fix.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { AuError, AuUsageError, fromSystemError } from '../../src/errors.js';
import { ExitCode, describe, exitCodeFor } from '../../src/cli/errors.js';
import { REPO } from '../helpers/system.js';

// The errors that mean "the input was wrong": exit 2. An unknown agent or profile is a failure (1), as it
// has always been: the input is well formed, the thing is missing.
const USAGE = new Set(['UsageError', 'InvalidNameError', 'EnvError', 'ShareError', 'LimitError', 'NetPolicyError', 'WebAddressError']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

test('every error class is an AuError; usage ones exit 2, the others 1', async () => {
  const found: string[] = [];
  for (const file of sourceFiles(join(REPO, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^export class (\w+Error) extends (\w+)/gm)) {
      const name = m[1]!;
      if (name === 'AuError' || name === 'AuUsageError') continue;
      found.push(name);
      const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      const cls = mod[name] as { prototype: object };
      assert.ok(cls.prototype instanceof AuError, `${relative(REPO, file)}: ${name} is not an AuError`);
      assert.equal(cls.prototype instanceof AuUsageError, USAGE.has(name), `${name}: usage error? expected ${USAGE.has(name)}`);
      const probe = Object.create(cls.prototype) as AuError;
      Object.defineProperty(probe, 'usage', { value: USAGE.has(name) });
      assert.equal(exitCodeFor(probe), USAGE.has(name) ? 2 : 1, name);
    }
  }
  assert.ok(found.length >= 20, `walked ${found.length} error classes`);
  for (const name of USAGE) assert.ok(found.includes(name), `${name} not found in src`);
  assert.equal(exitCodeFor(new ExitCode(3)), 3);
  assert.equal(exitCodeFor(new Error('bug')), 1);
});

test('errno errors name the operation, the path and a fix', () => {
  const errno = (code: string, syscall: string, path: string, text: string): NodeJS.ErrnoException =>
    Object.assign(new Error(`${code}: ${text}, ${syscall} '${path}'`), { code, syscall, path });
  const cases: [string, string, RegExp][] = [
    [
      'ENOSPC',
      'no space left on device',
      /cannot write \/cfg\/a\.toml: ENOSPC: no space left on device; the disk is full: free some space/,
    ],
    ['EFBIG', 'file too large', /cannot write \/cfg\/a\.toml: EFBIG: file too large; .*ulimit -f/],
    ['EACCES', 'permission denied', /cannot write \/cfg\/a\.toml: EACCES: permission denied; .*owner and mode/],
    ['ENOENT', 'no such file or directory', /cannot write \/cfg\/a\.toml: ENOENT: no such file or directory; it does not exist/],
  ];
  for (const [code, text, expected] of cases) {
    assert.match(describe(errno(code, 'write', '/cfg/a.toml', text)), expected);
    const wrapped = fromSystemError(errno(code, 'write', '/cfg/a.toml', text), 'write the config', '/cfg/a.toml');
    assert.equal(wrapped.path, '/cfg/a.toml');
    assert.equal(wrapped.operation, 'write the config');
    assert.ok(wrapped.hint, `${code} has a hint`);
    assert.equal(exitCodeFor(wrapped), 1);
  }
});
