// The session server with real humans, real sockets, real PTYs (tmux as their terminals): roles
// from SO_PEERCRED across user accounts, observers kept read-only by the server, refusals
// audited, no server fd in the agent, every way a session ends, and the asciicast recording.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Human, packageForHumans, sh, uidOf } from '../helpers/system.js';
import { type SharedServer, eventually, probe, sharedServer } from '../helpers/session-server.js';
import { Terminal } from '../helpers/tmux.js';

describe('session server', () => {
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

  test('operator types, an observer on another account sees it; observer input, strangers and the agent are refused', async () => {
    const ownerTerm = terminal(s.owner);
    ownerTerm.type(`${s.au} attach -s ${s.socket} -a ${s.agent} -n pair`);
    await ownerTerm.waitFor(/session pair \(started; agent .*; you are owner\); detach: Ctrl-\] d/);
    ownerTerm.type('PS1="agent$ "');

    const operatorTerm = terminal(s.operator);
    operatorTerm.type(`${s.au} attach -s ${s.socket} --of ${s.owner.name} -n pair`);
    await operatorTerm.waitFor(/session pair \(joined; .* you are operator\)/);
    const observerTerm = terminal(s.observer);
    observerTerm.type(`${s.au} attach -s ${s.socket} --of ${s.owner.name} -n pair -r`);
    await observerTerm.waitFor(/session pair \(joined; .* you are observer, read-only\)/);

    operatorTerm.type('echo hello-$((6*7)) from $(id -un)');
    await observerTerm.waitFor(new RegExp(`hello-42 from ${s.agent}`));
    await ownerTerm.waitFor(new RegExp(`hello-42 from ${s.agent}`));

    // Ctrl-A reaches the agent: it moves bash's cursor to the start of the line.
    operatorTerm.type('hoo-ctrl-a', false);
    operatorTerm.keys('C-a');
    operatorTerm.type('echo ', false);
    operatorTerm.keys('Enter');
    await ownerTerm.waitFor(/^hoo-ctrl-a\s*$/m);

    observerTerm.type('echo observer-typed-this');
    await observerTerm.waitFor(/\[au: read-only: you are an observer of session pair; your input was not sent to the agent\]/);
    await new Promise((r) => setTimeout(r, 500));
    assert.doesNotMatch(ownerTerm.screen(), /observer-typed-this/);

    // The stranger (in the socket's group, but given no role) and the agent itself.
    const refused = s.stranger.au(['attach', '-s', s.socket, '--of', s.owner.name, '-n', 'pair', '-r']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /refused: .* is not configured as an operator or observer/);
    sh(['usermod', '-aG', s.group, s.agent]);
    try {
      const asAgent = sh(
        [
          'runuser',
          '-u',
          s.agent,
          '--',
          process.execPath,
          join(packageForHumans(), 'bin', 'au'),
          'sessions',
          'list',
          '-s',
          s.socket,
          '--of',
          s.owner.name,
        ],
        { cwd: '/' },
      );
      assert.equal(asAgent.status, 1, asAgent.stdout);
      assert.match(asAgent.stderr, /refused: .* is an agent user: agents are never admitted/);
    } finally {
      sh(['gpasswd', '-d', s.agent, s.group]);
    }

    // No fd of the server reaches the agent: no agent process holds a socket, or any pipe,
    // file or terminal end that the server process holds.
    const fdTargets = (pid: number): Map<string, string> => {
      const targets = new Map<string, string>();
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          targets.set(fd, readlinkSync(`/proc/${pid}/fd/${fd}`));
        } catch {
          /* closed meanwhile */
        }
      }
      return targets;
    };
    const serverHolds = new Set(fdTargets(s.serverPid()).values());
    const pids = s.agentProcesses();
    assert.ok(pids.length > 0, 'the agent shell runs');
    for (const pid of pids) {
      for (const [fd, target] of fdTargets(pid)) {
        const what = `agent pid ${pid} (${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}) fd ${fd} -> ${target}`;
        // The run's init (P1, the entrypoint as the agent) keeps one socket of its own: its channel to
        // P0 (a socketpair the entrypoint made, for job control). No other socket may reach the agent.
        const isInit = readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/usr/local/libexec/agent-as-unix-user/');
        if (!(isInit && fd === '3')) assert.doesNotMatch(target, /^socket:/, what);
        assert.ok(!serverHolds.has(target) || /^\/dev\/pts\//.test(target), `${what} is also held by the server`);
      }
    }

    const audit = s.audit();
    const ofPair = audit.filter((e) => e.session === 'pair');
    assert.ok(ofPair.some((e) => e.event === 'start' && e.agent === s.agent && e.owner === s.owner.name && e.pid > 0));
    assert.ok(ofPair.some((e) => e.event === 'join' && e.user === s.operator.name && e.role === 'operator'));
    assert.ok(ofPair.some((e) => e.event === 'join' && e.user === s.observer.name && e.role === 'observer'));
    assert.ok(ofPair.some((e) => e.event === 'input' && e.user === s.operator.name && /echo hello-/.test(e.data)));
    assert.ok(
      ofPair.some((e) => e.event === 'input' && e.user === s.operator.name && e.data === '\\x01'),
      'Ctrl-A audited as one escaped byte',
    );
    assert.ok(ofPair.some((e) => e.event === 'input-refused' && e.user === s.observer.name));
    assert.ok(!ofPair.some((e) => e.event === 'input' && e.user === s.observer.name));
    assert.ok(audit.some((e) => e.event === 'refused' && e.user === s.stranger.name));
    assert.ok(audit.some((e) => e.event === 'refused' && e.user === s.agent));

    // The list shows who is attached, with roles.
    const list = s.owner.au(['sessions', 'list', '--json', '-s', s.socket]);
    assert.equal(list.status, 0, list.stderr);
    const clients = (JSON.parse(list.stdout) as { id: string; clients: { user: string; role: string }[] }[]).find(
      (x) => x.id === 'pair',
    )!.clients;
    assert.deepEqual(
      clients.map((c) => `${c.user}:${c.role}`).sort(),
      [`${s.owner.name}:owner`, `${s.operator.name}:operator`, `${s.observer.name}:observer`].sort(),
    );

    // Detach leaves the session running; exit ends it and everyone sees the exit code.
    observerTerm.keys('C-]', 'd');
    await observerTerm.waitFor(/detached from session pair; it goes on/);
    operatorTerm.type('exit 3');
    await ownerTerm.waitFor(/session pair ended: the agent command exited, exit code 3/);
    await operatorTerm.waitFor(/session pair ended: .* exit code 3/);
    await eventually(() => s.agentProcesses().length === 0, 'no agent process left');
    assert.ok(s.audit().some((e) => e.event === 'end' && e.session === 'pair' && e.exitCode === 3));

    // The recording plays in the real asciinema, and through au sessions replay.
    const cast = readdirSync(join(s.stateDir, 'recordings')).find((n) => n.endsWith('-pair.cast'))!;
    const castPath = join(s.stateDir, 'recordings', cast);
    // asciinema cat reads /dev/tty: give it one.
    const cat = s.owner.run(['script', '-qec', `asciinema cat ${castPath}`, '/dev/null']);
    assert.equal(cat.status, 0, cat.stderr);
    assert.match(cat.stdout, new RegExp(`hello-42 from ${s.agent}`));
    const replay = s.owner.au(['sessions', 'replay', 'pair', '--speed', '1000']);
    assert.equal(replay.status, 0, replay.stderr);
    assert.match(replay.stdout, new RegExp(`hello-42 from ${s.agent}`));
  });

  test('a new session ends with its command: exit code reported to a non-terminal client', () => {
    const r = s.owner.au(['attach', '-s', s.socket, '-a', s.agent, '--', 'sh', '-c', 'echo bye; exit 7']);
    assert.equal(r.status, 7, r.stderr);
    assert.match(r.stdout, /bye/);
    assert.match(r.stdout, /ended: the agent command exited, exit code 7/);
  });

  test('au sessions kill ends the whole process tree (also what the agent detached)', async () => {
    const ownerTerm = terminal(s.owner);
    ownerTerm.type(`${s.au} attach -s ${s.socket} -a ${s.agent} -n doomed -- bash -c 'setsid -f sleep 1000; sleep 1001'`);
    await ownerTerm.waitFor(/session doomed \(started/);
    await eventually(() => s.agentProcesses().length >= 2, 'agent processes started');
    const kill = s.owner.au(['sessions', 'kill', 'doomed', '-s', s.socket]);
    assert.equal(kill.status, 0, kill.stderr);
    assert.match(kill.stdout, /killed session doomed/);
    await ownerTerm.waitFor(new RegExp(`session doomed ended: killed by ${s.owner.name}, exit code \\d+`));
    await eventually(
      () => s.agentProcesses().length === 0,
      () =>
        `agent processes left:\n${sh(['ps', '-o', 'pid,ppid,stat,user,cmd', '-u', s.agent]).stdout}\n${sh(['ps', '-ef', '--forest'])
          .stdout.split('\n')
          .filter((l) => /sleep|su_as|attach/.test(l))
          .join('\n')}`,
    );
    const audit = s.audit();
    assert.ok(audit.some((e) => e.event === 'kill' && e.session === 'doomed' && e.by === s.owner.name));
    assert.ok(audit.some((e) => e.event === 'end' && e.session === 'doomed' && typeof e.exitCode === 'number'));
    // An operator may not kill.
    const stays = probe(s.owner.name, s.socket, 'run', {
      session: 'stays',
      agent: s.agent,
      command: ['sleep', '1000'],
      until: '',
      detach: true,
    });
    assert.equal(stays.welcome?.created, true, JSON.stringify(stays));
    const denied = s.operator.au(['sessions', 'kill', 'stays', '-s', s.socket, '--of', s.owner.name]);
    assert.equal(denied.status, 1);
    assert.match(denied.stderr, /only the owner may kill/);
    assert.equal(s.owner.au(['sessions', 'kill', 'stays', '-s', s.socket]).status, 0);
  });

  test('server SIGTERM ends every session, tells the clients, removes the socket; one server per socket; a stale socket is replaced', async () => {
    const ownerTerm = terminal(s.owner);
    ownerTerm.type(`${s.au} attach -s ${s.socket} -a ${s.agent} -n last -- bash -c 'sleep 1000 & sleep 1001'`);
    await ownerTerm.waitFor(/session last \(started/);
    await eventually(() => s.agentProcesses().length >= 2, 'agent processes started');
    const pid = s.serverPid();
    s.stop();
    await ownerTerm.waitFor(/session last ended: the server stopped \(SIGTERM\), exit code \d+/);
    await eventually(() => !existsSync(`/proc/${pid}`), 'server exited');
    assert.equal(existsSync(s.socket), false, 'socket removed');
    assert.deepEqual(s.agentProcesses(), []);
    assert.ok(s.audit().some((e) => e.event === 'end' && e.session === 'last'));
    s.start();

    // One server per socket (flock), and a server that died leaves a socket the next one replaces.
    const second = s.owner.au(['server', 'run', '-s', s.socket]);
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`a server is already running on ${s.socket} \\(pid ${s.serverPid()}\\)`));
    const killed = s.serverPid();
    sh(['kill', '-KILL', String(killed)]);
    await eventually(() => !existsSync(`/proc/${killed}`), 'server killed');
    assert.ok(existsSync(s.socket), 'a stale socket is left');
    s.start();
    assert.notEqual(s.serverPid(), killed);
    assert.equal(s.owner.au(['sessions', 'list', '-s', s.socket]).status, 0);
    assert.ok(uidOf(s.owner.name) > 0);
  });
  test("sessions get the agent's network policy, checked fail-closed like au run", async () => {
    const net = s.owner.au(['net', 'set', '-a', s.agent, 'deny']);
    assert.equal(net.status, 0, net.stderr);
    try {
      const ownerTerm = terminal(s.owner);
      ownerTerm.type(`${s.au} attach -s ${s.socket} -a ${s.agent} -n netok -- sh -c 'echo policy-loaded-ran; exit 4'`);
      await ownerTerm.waitFor(/policy-loaded-ran[\s\S]*session netok ended: .*exit code 4/);
      // Unloaded by hand (a reboot, nft flush): a new session must not start without it.
      sh(['nft', 'delete', 'table', 'inet', `au-${s.agent}`]);
      ownerTerm.type(`clear; ${s.au} attach -s ${s.socket} -a ${s.agent} -n netgone -- sh -c 'echo should-not-run'`);
      const screen = await ownerTerm.waitFor(/session netgone ended: .*exit code \d+/);
      assert.match(screen, /network policy not in force \(run: au net apply -a /);
      assert.match(screen, /exit code 125/);
      assert.doesNotMatch(screen, /^should-not-run/m);
    } finally {
      s.owner.au(['net', 'clear', '-a', s.agent]);
    }
  });
});
