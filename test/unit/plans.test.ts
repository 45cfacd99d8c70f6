import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { AgentSetupError, createAgent, newRecord, planCreate } from '../../src/agents/create.js';
import { emptyConfig } from '../../src/config/schema.js';
import { COMPILER_FLAGS } from '../../src/entrypoint/flags.js';
import { RecordingRunner, type StepResult } from '../../src/system/runner.js';

const ok = (stdout = ''): StepResult => ({ status: 0, stdout, stderr: '' });
const missing: StepResult = { status: 2, stdout: '', stderr: '' };

test('planCreate refuses an existing user or group before changing anything', () => {
  const runner = new RecordingRunner((argv) =>
    argv.join(' ') === 'getent passwd alice' ? ok('alice:x:1000:1000::/home/alice:/bin/bash') : missing,
  );
  assert.throws(() => planCreate(runner, emptyConfig(), 'alice'), AgentSetupError);
  assert.deepEqual(runner.changes, []);
});

test('createAgent performs the documented steps, as privileged commands, to the installed entrypoint', () => {
  const users = new Map<string, string>();
  const groups = new Map<string, string>();
  const runner = new RecordingRunner((argv) => {
    const cmd = argv.filter((a) => a !== 'sudo');
    if (cmd[0] === 'getent' && cmd[1] === 'passwd') return users.has(cmd[2]!) ? ok(users.get(cmd[2]!)) : missing;
    if (cmd[0] === 'getent' && cmd[1] === 'group') return groups.has(cmd[2]!) ? ok(groups.get(cmd[2]!)) : missing;
    if (cmd[0] === 'groupadd') groups.set(cmd[1]!, `${cmd[1]}:x:2001:`);
    // The account as useradd makes it: no login shell, a locked password, expired (1970-01-02), no other group.
    if (cmd[0] === 'useradd') users.set('bot', 'bot:x:2002:2002:agent-as-unix-user agent:/home/bot:/usr/sbin/nologin');
    if (cmd.join(' ') === 'getent shadow bot') return ok('bot:!:20000:0:99999:7::1:');
    if (cmd.join(' ') === 'id -G bot') return ok('2002\n');
    // The compiler, played like the other commands: the binary it would write.
    if (cmd[0] === 'cc') writeFileSync(cmd[cmd.indexOf('-o') + 1]!, 'a compiled entrypoint');
    return ok();
  });
  const record = newRecord('bot');
  createAgent(runner, record, { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice' }, () => {});
  // Temporary paths (the entrypoint's build directory) shown as TMP.
  const printed = runner.changes.map((argv) =>
    argv
      .filter((a) => a !== 'sudo')
      .join(' ')
      .replace(/\/\S*\/au-entrypoint-bot-[^/\s]+/g, 'TMP'),
  );
  assert.deepEqual(printed.slice(0, 9), [
    'groupadd su-as-bot',
    'useradd --create-home --home-dir /home/bot --shell /usr/sbin/nologin --expiredate 1970-01-02 --user-group --comment agent-as-unix-user agent bot',
    // A uid that had an account before may still have its keyrings in the kernel: cleared first (A28).
    'setpriv --reuid=2002 --regid=2002 --clear-groups -- sh -c id=$(keyctl get_persistent @u 2>/dev/null) || exit 0; keyctl clear "$id"',
    'setpriv --reuid=2002 --regid=2002 --clear-groups -- keyctl clear @u',
    'setpriv --reuid=2002 --regid=2002 --clear-groups -- keyctl clear @us',
    'usermod --append --groups su-as-bot alice',
    'chgrp su-as-bot /home/bot',
    'chmod 2770 /home/bot',
    'setfacl --modify user:bot:rwx,group:su-as-bot:rwx,default:user:bot:rwx,default:group:su-as-bot:rwx /home/bot',
  ]);
  // Then the cron/at denials (`install -m 644 /dev/null FILE` first where this machine has no such
  // file), and the entrypoint: built as the human, installed setuid by root.
  assert.deepEqual(
    printed.slice(9).filter((line) => !line.startsWith('install -m 644 /dev/null ')),
    [
      'tee -a /etc/cron.deny',
      'tee -a /etc/at.deny',
      `cc ${COMPILER_FLAGS.join(' ')} -DAGENT_NAME="bot" -DAGENT_UID=2002 -DAGENT_GID=2002 -DDRIVER_GID=2001 -DAGENT_HOME="/home/bot" -o TMP/su_as_agent TMP/su_as_agent.c`,
      'install -d -o root -g root -m 0755 /usr/local/libexec/agent-as-unix-user /usr/local/libexec/agent-as-unix-user/bot',
      'install -o root -g su-as-bot -m 4750 TMP/su_as_agent /usr/local/libexec/agent-as-unix-user/bot/su_as_agent',
    ],
  );
  assert.equal(record.entrypoint, '/usr/local/libexec/agent-as-unix-user/bot/su_as_agent');
  assert.match(record.entrypointSha256 ?? '', /^[0-9a-f]{64}$/, 'the hash of the binary the compiler wrote');
  assert.equal(record.uid, 2002);
  assert.equal(record.groupGid, 2001);
  assert.equal(record.bootstrapped, true);
});
