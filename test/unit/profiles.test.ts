import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProgram } from '../../src/cli/main.js';
import { emptyConfig } from '../../src/config/schema.js';
import { COMMAND_NAMES, allProfiles, findProfile } from '../../src/profiles/resolve.js';
import { narrowShares } from '../../src/run/repo-policy.js';

test('every command of the CLI is reserved: no profile can shadow it', () => {
  const names = buildProgram()
    .commands.map((c) => c.name())
    .filter((n) => !n.startsWith('__'));
  for (const name of names) assert.ok((COMMAND_NAMES as readonly string[]).includes(name), `${name} is not in COMMAND_NAMES`);
});

test('config profiles override built-ins field by field and add new ones', () => {
  const config = emptyConfig();
  config.extra.profiles = {
    claude: { secrets: { ANTHROPIC_API_KEY: { command: ['pass', 'show', 'anthropic'] } } },
    mine: { command: ['mytool', '--yes'], env: ['MY_TOKEN'] },
  };
  const claude = findProfile(config, 'claude');
  assert.deepEqual(claude.command, ['claude', '--dangerously-skip-permissions']);
  assert.deepEqual(claude.secrets.ANTHROPIC_API_KEY, { command: ['pass', 'show', 'anthropic'] });
  assert.deepEqual(findProfile(config, 'mine').command, ['mytool', '--yes']);
  assert.equal(allProfiles(emptyConfig()).length, 6);
  config.extra.profiles = { list: { command: ['x'] } };
  assert.throws(() => allProfiles(config), /cannot shadow the command `au list`/);
  config.extra.profiles = { nocmd: {} };
  assert.throws(() => allProfiles(config), /needs a command/);
});

test('a repo policy only narrows the shares', () => {
  const mounts = [
    { source: '/home/h/p', target: '/home/a/p', readOnly: false },
    { source: '/home/h/d', target: '/home/a/d', readOnly: true },
  ];
  assert.deepEqual(narrowShares(mounts, { path: 'x', shares: ['/home/h/p'], readOnly: true }), [
    { source: '/home/h/p', target: '/home/a/p', readOnly: true },
  ]);
  assert.throws(() => narrowShares(mounts, { path: 'x', shares: ['/home/h/secret'] }), /would add the share/);
});

test('au attach -p takes a profile (command and no-prompt flags) or a program', async () => {
  const { sessionCommand } = await import('../../src/cli/commands/attach.js');
  const config = emptyConfig();
  assert.deepEqual(sessionCommand(config, 'claude', ['--resume']), ['claude', '--dangerously-skip-permissions', '--resume']);
  assert.deepEqual(sessionCommand(config, 'htop', []), ['htop']);
  assert.deepEqual(sessionCommand(config, undefined, ['vim', 'x']), ['vim', 'x']);
  assert.equal(sessionCommand(config, undefined, []), undefined);
  assert.throws(() => sessionCommand(config, 'htop', ['x']), /either -p PROGRAM or a command/);
});
