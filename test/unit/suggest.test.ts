import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closest } from '../../src/cli/suggest.js';
import { main } from '../../src/cli/main.js';

test('a mistyped command or profile gets a suggestion; a far-off word gets none', () => {
  const words = ['claude', 'codex', 'install', 'info', 'mount'];
  assert.equal(closest('claud', words), 'claude');
  assert.equal(closest('intsall', words), 'install');
  assert.equal(closest('cdex', words), 'codex');
  assert.equal(closest('xyzzy', words), undefined);
});

test('au claud is a usage error that names claude', async () => {
  const errors: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (chunk: string) => (errors.push(String(chunk)), true);
  try {
    assert.equal(await main(['claud', '-C', '/nonexistent/au.toml']), 2);
  } finally {
    process.stderr.write = write;
  }
  assert.match(errors.join(''), /did you mean 'claude'\?/);
});
