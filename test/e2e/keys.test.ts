// `au keys`: the agent's own SSH keys for git, made as the agent in its home; its commits are
// signed and verify with the printed key; the human's keys and ssh-agent stay out of reach.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { join } from 'node:path';
import { humanWithAgent } from '../helpers/fixtures.js';
import { type Human, must, packageForHumans, sh } from '../helpers/system.js';

describe("au keys: the agent's own git keys", () => {
  let human: Human;
  let agent: string;
  let project: string;

  humanWithAgent((made) => ({ human, agent } = made));
  before(() => {
    project = `${human.home}/project`;
    mkdirSync(project);
    must(['chown', `${human.name}:${human.name}`, project]);
    const r = human.au(['mount', 'add', '-a', agent, '--rw', project]);
    assert.equal(r.status, 0, r.stderr);
  });

  let printed: { auth_key: string; signing_key: string };

  test('au doctor says the agent has no git keys yet, and names au keys', () => {
    const r = human.au(['doctor']);
    assert.match(r.stdout, new RegExp(`^WARN\\s+agent ${agent} git keys: .*\\n.*au keys -a ${agent}`, 'm'));
    // Which Node the agent's programs get (this machine's: a WARN below Claude Code's 22).
    assert.match(
      r.stdout,
      new RegExp(`^(PASS|WARN)\\s+agent ${agent} node: .*Node\\.js ${process.versions.node.replaceAll('.', '\\.')}`, 'm'),
    );
  });

  test('creates both key pairs as the agent, 0600, and prints the public keys', () => {
    const r = human.au(['keys', '-a', agent, '--json']);
    assert.equal(r.status, 0, r.stderr);
    printed = JSON.parse(r.stdout) as typeof printed;
    assert.match(printed.auth_key, /^ssh-ed25519 /);
    assert.match(printed.signing_key, /^ssh-ed25519 /);
    assert.notEqual(printed.auth_key, printed.signing_key);
    for (const file of ['id_ed25519', 'au_git_signing_ed25519']) {
      assert.equal(must(['stat', '-c', '%U %a', `/home/${agent}/.ssh/${file}`]).trim(), `${agent} 600`);
    }
    const text = human.au(['keys', '-a', agent]);
    assert.equal(text.status, 0, text.stderr);
    assert.ok(text.stdout.includes(printed.auth_key), 'running it again keeps the keys');
    assert.match(text.stdout, /deploy key/);
  });

  test("the agent's commits in a share are signed, and verify with the printed signing key", () => {
    const commit = human.au([
      'run',
      '-a',
      agent,
      '-d',
      `/home/${agent}/project`,
      '--',
      'bash',
      '-c',
      'git init -q && git -c user.name=bot -c user.email=bot@example.invalid commit -q --allow-empty -m signed',
    ]);
    assert.equal(commit.status, 0, commit.stderr);
    const signers = `${human.home}/allowed_signers`;
    writeFileSync(signers, `bot@example.invalid namespaces="git" ${printed.signing_key.split(' ').slice(0, 2).join(' ')}\n`);
    const log = sh([
      'git',
      '-c',
      'safe.directory=*',
      '-c',
      `gpg.ssh.allowedSignersFile=${signers}`,
      '-C',
      project,
      'log',
      '--show-signature',
      '-1',
    ]);
    assert.equal(log.status, 0, log.stderr);
    assert.match(log.stdout + log.stderr, /Good "git" signature for bot@example\.invalid with ED25519 key/);
  });

  test("the human's keys and ssh-agent are out of reach of the agent", () => {
    mkdirSync(`${human.home}/.ssh`, { mode: 0o700 });
    must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', `${human.home}/.ssh/id_ed25519`]);
    must(['chown', '-R', `${human.name}:${human.name}`, `${human.home}/.ssh`]);
    // The human's own ssh-agent, with SSH_AUTH_SOCK in the environment au runs in.
    const au = `${process.execPath} ${join(packageForHumans(), 'bin', 'au')}`;
    const inside = `echo "sock=\${SSH_AUTH_SOCK-}"; cat ${human.home}/.ssh/id_ed25519 >/dev/null 2>&1 && echo read-key; ls /tmp/ssh-* 2>/dev/null; true`;
    const probe = human.run([
      'bash',
      '-c',
      `eval "$(ssh-agent -s)" >/dev/null && ssh-add -q ~/.ssh/id_ed25519 && ${au} run -a ${agent} -- bash -c '${inside}'; s=$?; kill "$SSH_AGENT_PID"; exit $s`,
    ]);
    assert.equal(probe.status, 0, probe.stderr);
    assert.match(probe.stdout, /^sock=$/m);
    assert.doesNotMatch(probe.stdout, /read-key/);
    assert.doesNotMatch(probe.stdout, /ssh-/, 'the ssh-agent socket directory is not visible');
  });

  test('au doctor then reports the keys', () => {
    assert.match(human.au(['doctor']).stdout, new RegExp(`^PASS\\s+agent ${agent} git keys`, 'm'));
  });

  test('--rotate replaces both keys', () => {
    const r = human.au(['keys', '-a', agent, '--rotate', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const rotated = JSON.parse(r.stdout) as typeof printed;
    assert.notEqual(rotated.auth_key, printed.auth_key);
    assert.notEqual(rotated.signing_key, printed.signing_key);
  });
});
