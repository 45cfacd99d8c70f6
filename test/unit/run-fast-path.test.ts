import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRunArguments } from '../../src/cli/run-fast-path.js';

test('the au run fast path parses the options of au run', () => {
  const inv = parseRunArguments([
    '-a',
    'bot',
    '-e',
    'A=1',
    '--env=B=2',
    '-dwork',
    '--no-pty',
    '-C',
    '/c.toml',
    '--dry-run',
    '--',
    'ls',
    '-la',
  ]);
  assert.deepEqual(inv, {
    globals: { config: '/c.toml', dryRun: true },
    agent: 'bot',
    options: { env: ['A=1', 'B=2'], directory: 'work', pty: false },
    command: ['ls', '-la'],
  });
  assert.deepEqual(parseRunArguments(['echo', '-n', 'x'])?.command, ['echo', '-n', 'x']);
  assert.equal(parseRunArguments(['echo'])?.agent, 'agent');
});

test('anything unsure goes to the full CLI', () => {
  for (const argv of [[], ['--help'], ['-h'], ['--frob', 'x'], ['-a'], ['-a', 'bot'], ['--']]) {
    assert.equal(parseRunArguments(argv), undefined, JSON.stringify(argv));
  }
});
