import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentSetupError, createAgent, newRecord, planCreate } from '../../src/agents/create.js';
import { emptyConfig } from '../../src/config/schema.js';
import { RecordingRunner, type StepResult } from '../../src/system/runner.js';

const ok = (stdout = ''): StepResult => ({ status: 0, stdout, stderr: '' });
const missing: StepResult = { status: 2, stdout: '', stderr: '' };

test('planCreate refuses an existing user or group before changing anything', () => {
  const runner = new RecordingRunner((argv) => (argv.join(' ') === 'getent passwd alice' ? ok('alice:x:1000:1000::/home/alice:/bin/bash') : missing));
  assert.throws(() => planCreate(runner, emptyConfig(), 'alice'), AgentSetupError);
  assert.deepEqual(runner.changes, []);
});

test('createAgent performs the documented steps, as privileged commands', () => {
  const users = new Map<string, string>();
  const groups = new Map<string, string>();
  const runner = new RecordingRunner((argv) => {
    const cmd = argv.filter((a) => a !== 'sudo');
    if (cmd[0] === 'getent' && cmd[1] === 'passwd') return users.has(cmd[2]!) ? ok(users.get(cmd[2]!)) : missing;
    if (cmd[0] === 'getent' && cmd[1] === 'group') return groups.has(cmd[2]!) ? ok(groups.get(cmd[2]!)) : missing;
    if (cmd[0] === 'groupadd') groups.set(cmd[1]!, `${cmd[1]}:x:2001:`);
    if (cmd[0] === 'useradd') users.set('bot', 'bot:x:2002:2002:agent-as-unix-user agent:/home/bot:/bin/bash');
    return ok();
  });
  const record = newRecord('bot');
  // The entrypoint build needs a compiler; stop the plan there and look at what came before.
  assert.throws(() => createAgent(runner, record, { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice' }, () => {}));
  const printed = runner.changes.map((argv) => argv.filter((a) => a !== 'sudo').join(' '));
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
  assert.equal(record.uid, 2002);
  assert.equal(record.groupGid, 2001);
  assert.equal(record.bootstrapped, false);
});
