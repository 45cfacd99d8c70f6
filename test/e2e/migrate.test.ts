// An agent made by the Python `au`, reproduced as that tool leaves it on disk (its commands:
// groupadd su-as-NAME; useradd --no-user-group --gid su-as-NAME; the entrypoint setuid root in
// the agent's home; shares by group ACLs and setgid), then `au migrate`.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type Human, createHuman, groupExists, must, uniqueName, userExists } from '../helpers/system.js';

function pythonAgent(human: Human): { agent: string; group: string; oldEntrypoint: string; ro: string; rw: string } {
  const agent = uniqueName();
  const group = `su-as-${agent}`;
  human.track(agent);
  const home = `/home/${agent}`;
  must(['groupadd', group]);
  must(['useradd', '--shell', '/bin/bash', '--no-user-group', '--create-home', '--home-dir', home, '--gid', group, agent]);
  must(['usermod', '--append', '--groups', group, human.name]);
  must(['chmod', '2770', home]);
  must(['setfacl', '--modify', `default:group:${group}:rwx`, home]);
  const configDir = `${home}/.config/agent-as-another-unix-user`;
  mkdirSync(`${configDir}/su_as_agent-src`, { recursive: true });
  writeFileSync(`${configDir}/su_as_agent-src/main.c`, 'int main(void) { return 0; }\n');
  must(['chown', '-R', `${human.name}:${group}`, `${home}/.config`]);
  const oldEntrypoint = `${configDir}/su_as_agent`;
  must(['cp', '/bin/true', oldEntrypoint]);
  must(['chown', `root:${group}`, oldEntrypoint]);
  must(['chmod', '4750', oldEntrypoint]);
  writeFileSync(`${home}/notes.txt`, 'mine\n');
  must(['chown', `${agent}:${group}`, `${home}/notes.txt`]);
  const ro = `${human.home}/py-ro-${agent}`;
  const rw = `${human.home}/py-rw-${agent}`;
  for (const dir of [ro, rw]) mkdirSync(dir);
  writeFileSync(`${rw}/existing.txt`, 'shared\n');
  must(['chown', '-R', `${human.name}:${human.name}`, ro, rw]);
  must(['chmod', 'g+s', rw]);
  must(['setfacl', '--recursive', '--modify', `default:group:${group}:rwx`, rw]);
  must(['setfacl', '--recursive', '--modify', `group:${group}:rwx`, rw]);
  const config = `${human.home}/.config/agent-as-unix-user.toml`;
  mkdirSync(`${human.home}/.config`, { recursive: true });
  const previous = existsSync(config) ? readFileSync(config, 'utf8') : '';
  writeFileSync(
    config,
    previous +
      `[[agents]]\nuser_name = "${agent}"\nsu_as_agent_group = "${group}"\nentrypoint = "${oldEntrypoint}"\nentrypoint_sha256 = "00"\nbootstrapped = true\n` +
      `[[agents.mounts]]\nsource = "${ro}"\ntarget = "/home/${agent}/py-ro"\nread_only = true\n` +
      `[[agents.mounts]]\nsource = "${rw}"\ntarget = "/home/${agent}/py-rw"\nread_only = false\n`,
  );
  must(['chown', '-R', `${human.name}:${human.name}`, `${human.home}/.config`]);
  chmodSync(config, 0o600);
  return { agent, group, oldEntrypoint, ro, rw };
}

describe('au migrate: an agent of the Python au', () => {
  let human: Human;
  let agent: string;
  let group: string;
  let oldEntrypoint: string;
  let rw: string;

  before(() => {
    human = createHuman();
    ({ agent, group, oldEntrypoint, rw } = pythonAgent(human));
    human.track(agent);
  });
  after(() => human.cleanup());

  test('au run and au info name au migrate; after it au run, info, mount list and delete work, the home is intact', () => {
    const refused = human.au(['run', '-a', agent, '--', 'true']);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`au migrate -a ${agent}`));
    assert.match(human.au(['info', '-a', agent]).stdout + human.au(['info', '-a', agent]).stderr, new RegExp(`au migrate -a ${agent}`));

    const before = readFileSync(`${human.home}/.config/agent-as-unix-user.toml`, 'utf8');
    const net = human.au(['net', 'set', '-a', agent, 'deny']);
    assert.equal(net.status, 1, net.stderr);
    assert.match(net.stderr, new RegExp(`au migrate -a ${agent}`));
    assert.equal(readFileSync(`${human.home}/.config/agent-as-unix-user.toml`, 'utf8'), before, 'au net set saved nothing');

    const migrated = human.au(['migrate', '-y', '-a', agent]);
    assert.equal(migrated.status, 0, migrated.stderr);
    assert.match(migrated.stderr, /^\$ sudo usermod --gid/m, 'every command is printed');
    assert.ok(!existsSync(oldEntrypoint), 'the setuid entrypoint in the home is gone');
    assert.ok(!existsSync(`/home/${agent}/.config/agent-as-another-unix-user/su_as_agent-src`));
    assert.equal(must(['id', '-gn', agent]).trim(), agent, 'its own primary group');
    assert.doesNotMatch(must(['id', '-Gn', agent]), new RegExp(group), 'no longer in su-as-NAME');
    assert.doesNotMatch(must(['getfacl', '-p', rw]), new RegExp(`group:${group}:`), "the Python au's group ACLs are gone");
    assert.equal(statSync(rw).mode & 0o2000, 0, 'and its setgid bit');

    const id = human.au([
      'run',
      '-a',
      agent,
      '--',
      'sh',
      '-c',
      `id -gn; cat /home/${agent}/notes.txt; cat /home/${agent}/py-rw/existing.txt; echo new > /home/${agent}/py-rw/new.txt; ls /home/${agent}/py-ro`,
    ]);
    assert.equal(id.status, 0, id.stderr);
    assert.equal(id.stdout, `${agent}\nmine\nshared\n`);
    assert.ok(existsSync(`${rw}/new.txt`), 'the rw share is writable');
    const info = human.au(['info', '-a', agent]);
    assert.equal(info.status, 0, info.stdout + info.stderr);
    const list = human.au(['mount', 'list', '-a', agent]);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /py-ro/);
    assert.match(list.stdout, /py-rw/);

    const deleted = human.au(['delete', '-y', '-H', '-a', agent]);
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.ok(!userExists(agent) && !groupExists(agent) && !groupExists(group), 'user and groups gone');
    assert.ok(!existsSync(`/home/${agent}`));
  });

  test('au delete of an agent of the Python au (not migrated) removes it, after the same identity checks', () => {
    const other = pythonAgent(human);
    human.track(other.agent);
    const deleted = human.au(['delete', '-y', '-H', '-a', other.agent]);
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.match(deleted.stderr, /made by the Python au/);
    assert.ok(!userExists(other.agent) && !groupExists(other.agent) && !groupExists(other.group), 'user and groups gone');
    assert.ok(!existsSync(`/home/${other.agent}`));
    assert.doesNotMatch(must(['getfacl', '-p', other.rw]), new RegExp(`group:${other.group}:`));
  });

  test('a real account under an agent name is refused, by delete and by migrate', () => {
    const impostor = pythonAgent(human);
    human.track(impostor.agent);
    must(['usermod', '--comment', 'Real Person', impostor.agent]);
    for (const args of [
      ['migrate', '-y'],
      ['delete', '-y', '-H'],
    ]) {
      const r = human.au([...args, '-a', impostor.agent]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /refusing to migrate user .*GECOS is "Real Person"/);
      assert.ok(userExists(impostor.agent) && existsSync(impostor.oldEntrypoint), 'nothing touched');
    }
  });
});
