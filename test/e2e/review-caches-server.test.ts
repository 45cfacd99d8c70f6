// Review 8 (adversarial): the session server's per-uid connection limit and roles that follow
// the config, attacked by a hostile colleague with real humans and real sockets.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Human } from '../helpers/system.js';
import { sh } from '../helpers/system.js';
import { type SharedServer, eventually, probe, probeAsync, sharedServer } from '../helpers/session-server.js';
import { Terminal } from '../helpers/tmux.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('review 8: server limits and roles', () => {
  let s: SharedServer;
  const terminals: Terminal[] = [];
  const terminal = (human: Human, cols = 120, rows = 40): Terminal => {
    const t = new Terminal(human, cols, rows);
    terminals.push(t);
    return t;
  };
  before(() => {
    s = sharedServer();
  });
  after(() => {
    for (const t of terminals) t.close();
    s?.cleanup();
  });

  // rolesStamp() is ino:size:mtimeMs of the config: the human's tool writes the config in place
  // to the same size and restores its mtime (cp -p / rsync -t / touch -r from a backup, an
  // editor keeping the timestamp). The ctime moved, the stamp did not: the withdrawn operator
  // keeps typing until the 30 s lookup period rolls over.
  test('attack: an operator withdrawn by a same-size config rewrite whose mtime was restored can no longer type within 5 s', async () => {
    // Any other change of /etc/passwd or /etc/group (another user made on this machine) moves
    // the stamp and hides the attack: up to 2 tries; one input reaching the agent is enough.
    const op = terminal(s.operator);
    const config = join(s.owner.home, '.config', 'agent-as-unix-user.toml');
    const original = readFileSync(config, 'utf8');
    assert.ok(original.includes(`"${s.operator.name}"`), original);
    const backup = `${config}.review8`;
    let reached = false;
    for (let attempt = 0; attempt < 2 && !reached; attempt++) {
      const id = `stamp${attempt}`;
      const created = probe(s.owner.name, s.socket, 'run', { session: id, agent: s.agent, command: ['bash'], until: '', detach: true });
      assert.equal(created.welcome?.created, true, JSON.stringify(created));
      op.type(`${s.au} attach -s ${s.socket} --of ${s.owner.name} -n ${id}`);
      await op.waitFor(new RegExp(`session ${id} \\(joined; .* you are operator\\)`));
      copyFileSync(config, backup);
      assert.equal(sh(['touch', '-r', config, backup]).status, 0);
      // 3-20 s into a lookup period (30 s periods): the period's own recheck has run (it would
      // re-decide every connection anyway), and the check (6.5 s) ends inside the period.
      while (Date.now() % 30_000 < 3_000 || Date.now() % 30_000 > 20_000) await sleep(100);
      const fake = `${s.operator.name.slice(0, -1)}${s.operator.name.endsWith('x') ? 'y' : 'x'}`;
      writeFileSync(config, original.replaceAll(`"${s.operator.name}"`, `"${fake}"`)); // in place: same inode, same size
      assert.equal(sh(['touch', '-r', backup, config]).status, 0);
      rmSync(backup);
      try {
        await sleep(5_000);
        op.type(`echo after-$((5+6))-${attempt}`);
        await sleep(1_500);
        const screen = String(probe(s.owner.name, s.socket, 'request', { action: 'status', session: id }).body?.screen ?? '');
        reached = new RegExp(`after-11-${attempt}`).test(screen);
      } finally {
        writeFileSync(config, original);
        s.owner.au(['sessions', 'kill', id, '-s', s.socket]);
        await sleep(1_500);
      }
    }
    assert.equal(reached, false, 'the withdrawn operator typed into the agent 5 s after the config change');
  });

  // A group change: the observer is one through @group; removed from the group (gpasswd, which
  // replaces /etc/group), the watching connection must go, and a reconnect must be refused.
  test('attack: a member removed from the observers group keeps neither the attached connection nor a new one', async () => {
    const created = probe(s.owner.name, s.socket, 'run', { session: 'grp', agent: s.agent, command: ['bash'], until: '', detach: true });
    assert.equal(created.welcome?.created, true, JSON.stringify(created));
    const ob = terminal(s.observer);
    ob.type(`${s.au} attach -s ${s.socket} --of ${s.owner.name} -n grp`);
    await ob.waitFor(/session grp \(joined; .* you are observer/);
    assert.equal(sh(['gpasswd', '-d', s.observer.name, s.observersGroup]).status, 0);
    try {
      await ob.waitFor(/refused: your access to this server was withdrawn/, 8_000);
      const again = probe(s.observer.name, s.socket, 'run', { session: 'grp', readOnly: true, until: '' });
      assert.equal(again.refused, true, `reconnected after removal: ${JSON.stringify(again)}`);
    } finally {
      sh(['gpasswd', '-a', s.observer.name, s.observersGroup]);
      s.owner.au(['sessions', 'kill', 'grp', '-s', s.socket]);
    }
  });

  // Connections that never send a byte, from the owner's own uid, are not limited: but an
  // operator's flood must not take the owner's place, and the operator's own 65th is refused
  // while its 64 paused, never-greeted sockets are held (the per-uid count starts at accept).
  test('attack: 64 paused never-greeted connections plus a refused flood from a member do not stop the owner or another member (default fd budget)', async () => {
    const flood = probeAsync(s.operator.name, s.socket, 'hold', { count: 64 + 300 });
    await sleep(1_000);
    assert.equal(probe(s.owner.name, s.socket, 'request', { action: 'list' }).type, 4, 'the owner was served');
    assert.equal(probe(s.observer.name, s.socket, 'request', { action: 'list' }).type, 4, 'another member was served');
    const { tally } = await flood;
    assert.equal(tally['refused: more than 64 connections at once from this user'], 300, JSON.stringify(tally));
  });

  // Roles are re-decided on a passwd change, but with the name the peer had at connect
  // (connection.peer): the operator's account renamed by root (usermod -l, a departed
  // colleague's account retired under another name) keeps the configured operator's role.
  test('attack: an operator whose account is renamed away from the configured name while attached loses the role', async () => {
    const created = probe(s.owner.name, s.socket, 'run', { session: 'ren', agent: s.agent, command: ['bash'], until: '', detach: true });
    assert.equal(created.welcome?.created, true, JSON.stringify(created));
    const op = terminal(s.operator);
    op.type(`${s.au} attach -s ${s.socket} --of ${s.owner.name} -n ren`);
    await op.waitFor(/session ren \(joined; .* you are operator\)/);
    const renamed = `${s.operator.name}r`;
    const original = (op as unknown as { human: Human }).human;
    // usermod -l refuses while the user has processes: the same edit of /etc/passwd by hand (as vipw would).
    const passwd = readFileSync('/etc/passwd', 'utf8');
    writeFileSync('/etc/passwd.review8', passwd);
    writeFileSync('/etc/passwd', passwd.replace(new RegExp(`^${s.operator.name}:`, 'm'), `${renamed}:`));
    assert.match(sh(['getent', 'passwd', String(s.operator.uid)]).stdout, new RegExp(`^${renamed}:`));
    // The test's tmux is driven with runuser -u NAME: the new name from now on.
    (op as unknown as { human: Human }).human = Object.assign(Object.create(Object.getPrototypeOf(original) as object) as Human, original, {
      name: renamed,
    });
    try {
      await sleep(4_000);
      op.type('echo renamed-$((7+8))');
      await sleep(1_500);
      const screen = String(probe(s.owner.name, s.socket, 'request', { action: 'status', session: 'ren' }).body?.screen ?? '');
      assert.doesNotMatch(screen, /renamed-15/, 'the renamed account still typed as the configured operator');
    } finally {
      writeFileSync('/etc/passwd', readFileSync('/etc/passwd', 'utf8').replace(new RegExp(`^${renamed}:`, 'm'), `${s.operator.name}:`));
      rmSync('/etc/passwd.review8');
      (op as unknown as { human: Human }).human = original;
      s.owner.au(['sessions', 'kill', 'ren', '-s', s.socket]);
    }
  });

  // The agent is never admitted; it must not even hold connections (it would count against the
  // socket budget the owner shares): the shared socket's directory keeps it out.
  test('attack: the agent cannot connect to the shared socket at all', () => {
    const r = sh(
      [
        'runuser',
        '-u',
        s.agent,
        '--',
        process.execPath,
        '-e',
        `require('node:net').connect(${JSON.stringify(s.socket)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`,
      ],
      { cwd: '/' },
    );
    assert.match(r.stdout, /EACCES|ENOENT/, r.stdout + r.stderr);
  });

  // The owner is exempt from the per-uid limit, but not from listener.maxConnections, which is
  // the socket budget (half of RLIMIT_NOFILE, at least 16): on a server whose file limit is 64,
  // a single member holding 32 silent connections (half of what the per-uid limit allows)
  // takes every slot, and the owner's own connections are closed at accept.
  test('attack: one member holding fewer connections than the per-user limit cannot lock the owner out (server with RLIMIT_NOFILE 64)', async () => {
    s.stopAndWait();
    const argv = s.au.split(' ');
    const r = sh(
      [
        'prlimit',
        '--nofile=64:64',
        '--',
        'runuser',
        '-u',
        s.owner.name,
        '--',
        'env',
        `HOME=${s.owner.home}`,
        `USER=${s.owner.name}`,
        'PATH=/usr/local/bin:/usr/bin:/bin',
        ...argv,
        'server',
        'run',
        '-d',
        '-s',
        s.socket,
      ],
      { cwd: s.owner.home },
    );
    assert.equal(r.status, 0, r.stderr);
    try {
      await eventually(() => probe(s.owner.name, s.socket, 'request', { action: 'list' }).type === 4, 'the low-limit server answers');
      const flood = probeAsync(s.operator.name, s.socket, 'hold', { count: 40 });
      await sleep(1_500);
      const answers = [0, 1, 2].map(() => probe(s.owner.name, s.socket, 'request', { action: 'list' }));
      await flood;
      assert.ok(
        answers.every((a) => a.type === 4),
        `the owner was not served while a member held 40 connections: ${JSON.stringify(answers)}`,
      );
    } finally {
      s.stopAndWait();
      s.start();
    }
  });
});
