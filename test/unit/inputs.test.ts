import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateAgentName } from '../../src/agents/names.js';
import { entrypointEnvironment, parseEnvPair } from '../../src/run/environment.js';
import { entrypointArguments } from '../../src/launch/arguments.js';
import { exitStatusOf } from '../../src/run/launch.js';
import { mapThroughShares, workingDirectory } from '../../src/run/workdir.js';
import { shellQuote } from '../../src/system/shell-quote.js';

test('agent names: lowercase POSIX user names only', () => {
  for (const good of ['agent', 'a', '_x', 'claude-2', 'a_b-c']) assert.doesNotThrow(() => validateAgentName(good));
  for (const bad of ['root', '-x', 'a b', 'x/y', '', 'Agent', '1abc', 'a'.repeat(27), 'a;b', '..']) {
    assert.throws(() => validateAgentName(bad), /agent name/, bad);
  }
});

test('--env splits on the first = and refuses malformed pairs', () => {
  assert.deepEqual(parseEnvPair('URL=a=b'), ['URL', 'a=b']);
  assert.deepEqual(parseEnvPair('EMPTY='), ['EMPTY', '']);
  assert.throws(() => parseEnvPair('FOO'), /expected KEY=VALUE/);
  assert.throws(() => parseEnvPair('=x'), /key is empty/);
  assert.throws(() => parseEnvPair('A-B=1'), /invalid --env key/);
  assert.throws(() => parseEnvPair('HOME=/tmp'), /cannot set HOME/);
});

test('only LANG, TERM and the given pairs reach the entrypoint', () => {
  const env = entrypointEnvironment([['K', 'v=1']], { LANG: 'C.UTF-8', TERM: 'xterm', SECRET: 's', SSH_AUTH_SOCK: '/x' });
  assert.deepEqual(env, { LANG: 'C.UTF-8', TERM: 'xterm', AU_ENV_K: 'v=1' });
});

test("the terminal's identity (COLORTERM, TERM_PROGRAM...) reaches the agent as AU_ENV_ pairs; -e wins", () => {
  const from = { TERM: 'xterm-256color', COLORTERM: 'truecolor', TERM_PROGRAM: 'tmux', TERM_PROGRAM_VERSION: '3.3a' };
  assert.deepEqual(entrypointEnvironment([], from), {
    TERM: 'xterm-256color',
    AU_ENV_COLORTERM: 'truecolor',
    AU_ENV_TERM_PROGRAM: 'tmux',
    AU_ENV_TERM_PROGRAM_VERSION: '3.3a',
  });
  assert.equal(entrypointEnvironment([['COLORTERM', '']], from).AU_ENV_COLORTERM, '');
});

test('the working directory follows the most specific share', () => {
  const mounts = [
    { source: '/home/h/p', target: '/home/a/p', readOnly: true },
    { source: '/home/h/p/sub', target: '/home/a/s', readOnly: false },
  ];
  assert.equal(mapThroughShares('/home/h/p/x', mounts), '/home/a/p/x');
  assert.equal(mapThroughShares('/home/h/p/sub/y', mounts), '/home/a/s/y');
  assert.equal(mapThroughShares('/home/h/pp', mounts), undefined);
  assert.equal(workingDirectory(undefined, '/home/h/other', mounts, '/home/a'), '/home/a');
  assert.equal(workingDirectory('sub', '/home/h/p', mounts, '/home/a'), '/home/a/s');
  assert.equal(workingDirectory('/home/a/w', '/home/h', mounts, '/home/a'), '/home/a/w');
});

test('the command is passed as "$@" of a login shell, never re-quoted', () => {
  const args = entrypointArguments({
    mounts: [{ source: '/home/h/p', target: '/home/a/p', readOnly: true }],
    workdir: '/home/a',
    command: ['echo', 'a b', '$HOME'],
    via: 'login-shell',
    interactive: false,
  });
  assert.deepEqual(args, [
    '--mount-ro',
    '/home/h/p',
    '/home/a/p',
    '--chdir',
    '/home/a',
    '--',
    'bash',
    '--login',
    '-c',
    'declare -F -- "$1" >/dev/null && { "$@"; exit; }; exec "$@"',
    'bash',
    'echo',
    'a b',
    '$HOME',
  ]);
});

test('exit status: the code, or 128+N for a signal', () => {
  assert.equal(exitStatusOf(3, null), 3);
  assert.equal(exitStatusOf(null, 'SIGTERM'), 143);
  assert.equal(exitStatusOf(null, 9), 137);
});

test('printed commands can be pasted into a shell', () => {
  assert.equal(shellQuote(['sudo', 'useradd', '--comment', 'a b', "it's"]), `sudo useradd --comment 'a b' 'it'\\''s'`);
});
