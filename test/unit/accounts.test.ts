import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readShadow, refusesLogin } from '../../src/agents/login.js';
import type { StepResult } from '../../src/system/runner.js';

const shadowLine = (password: string, expire: string) => (): StepResult => ({
  status: 0,
  stdout: `bot:${password}:20000:0:99999:7::${expire}:\n`,
  stderr: '',
});

test('readShadow: locked means no password can match; expired means from that day on, as pam_unix reads it', () => {
  const today = Math.floor(Date.now() / 86_400_000);
  assert.deepEqual(readShadow(shadowLine('!', '1'), 'bot'), { passwordLocked: true, expired: true });
  assert.deepEqual(readShadow(shadowLine('!$y$j9T$abc', ''), 'bot'), { passwordLocked: true, expired: false });
  assert.deepEqual(readShadow(shadowLine('*', String(today)), 'bot'), { passwordLocked: true, expired: true });
  assert.deepEqual(readShadow(shadowLine('$y$j9T$abc', String(today + 30)), 'bot'), { passwordLocked: false, expired: false });
  assert.deepEqual(
    readShadow(shadowLine('', '0'), 'bot'),
    { passwordLocked: false, expired: false },
    'an empty password is no lock; 0 is ambiguous',
  );
  assert.equal(
    readShadow(() => ({ status: 1, stdout: '', stderr: 'sudo: a password is required' }), 'bot'),
    undefined,
  );
  assert.equal(readShadow(shadowLine('!', '1'), 'other'), undefined, 'the line must be the account asked for');
});

test('refusesLogin: only shells that give no shell', () => {
  for (const shell of ['/usr/sbin/nologin', '/sbin/nologin', '/bin/false', '/usr/bin/false'])
    assert.equal(refusesLogin(shell), true, shell);
  for (const shell of ['/bin/bash', '/bin/sh', '', '/usr/sbin/nologin2']) assert.equal(refusesLogin(shell), false, shell);
});
