// The session server's bounds against its own members, with real humans and real sockets:
// frames sent one byte at a time by 1000 clients (memory read from /proc), a member's
// connections past the per-user limit (refused, audited boundedly), an operator demoted and then
// removed in the config while attached (tmux as their terminal), and `au server init --dir DIR`
// followed as printed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Human } from '../helpers/system.js';
import { type SharedServer, eventually, probe, probeAsync, sharedServer } from '../helpers/session-server.js';
import { Terminal } from '../helpers/tmux.js';

/** server.ts LIMITS.connectionsPerUser */
const PER_USER = 64;

describe('session server limits', () => {
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

  test('1000 clients each sending a frame one byte at a time: the server holds a bounded buffer per client, not a chunk per byte', () => {
    const sessions = Array.from({ length: 20 }, (_, i) => `slow${i}`);
    const created = probe(s.owner.name, s.socket, 'many', { count: sessions.length, prefix: 'slow', agent: s.agent, command: ['cat'] });
    assert.equal(created.created, sessions.length, JSON.stringify(created));
    const rounds = 1000;
    const r = probe(s.owner.name, s.socket, 'slowbytes', { sessions, perSession: 50, rounds, serverPid: s.serverPid() });
    assert.equal(r.welcomed, 1000, JSON.stringify(r));
    assert.equal(r.open, 1000, `every client still connected when memory was read: ${JSON.stringify(r)}`);
    const growthMb = (r.afterKb - r.beforeKb) / 1024;
    console.log(
      `1000 clients x ${rounds} single bytes: server RSS ${(r.beforeKb / 1024).toFixed(0)} -> ${(r.afterKb / 1024).toFixed(0)} MB (+${growthMb.toFixed(1)} MB)`,
    );
    // A million one-byte writes: kept as the chunks they were read in (an object per read), the
    // server grew by 62 MB here; copied into one buffer per client (4 KB each at first), by
    // 2-19 MB (the rest is garbage of the reads, collected when V8 chooses).
    assert.ok(growthMb < 32, `server RSS grew by ${growthMb.toFixed(1)} MB`);
    for (const id of sessions) assert.equal(s.owner.au(['sessions', 'kill', id, '-s', s.socket]).status, 0);
  });

  test(`a member past ${PER_USER} connections at once is refused at accept, audited boundedly; the owner and other members are served meanwhile`, async () => {
    const extra = 150;
    const flood = probeAsync(s.operator.name, s.socket, 'hold', { count: PER_USER + extra });
    // While the member's connections are held: others are served.
    await eventually(() => probe(s.owner.name, s.socket, 'request', { action: 'list' }).type === 4, 'the owner listed the sessions');
    assert.equal(probe(s.observer.name, s.socket, 'request', { action: 'list' }).type, 4, 'another member is served');
    const { tally } = await flood;
    assert.deepEqual(tally, {
      [`refused: more than ${PER_USER} connections at once from this user`]: extra,
      'protocol error: no handshake within N ms': PER_USER,
    });
    // Refusals of one uid are written in full up to the limiter's budget, the rest counted (on
    // the window's summary line, written at the latest when the server stops).
    s.stopAndWait();
    const refusals = s.audit().filter((e) => e.uid === s.operator.uid || e.source === `uid ${s.operator.uid}`);
    const detailed = refusals.filter((e) => e.event === 'refused' && /more than \d+ connections/.test(e.reason));
    const counted = refusals.filter((e) => e.event === 'refusals').reduce((n, e) => n + e.count, 0);
    assert.ok(detailed.length > 0 && detailed.length <= 8, `${detailed.length} refusals in full`);
    assert.equal(detailed.length + counted, extra, JSON.stringify(refusals));
    s.start();
  });

  test('an operator demoted in the config can no longer type in the session they are attached to; removed, they are disconnected', async () => {
    const created = probe(s.owner.name, s.socket, 'run', { session: 'demote', agent: s.agent, command: ['bash'], until: '', detach: true });
    assert.equal(created.welcome?.created, true, JSON.stringify(created));
    const op = terminal(s.operator);
    op.type(`${s.au} attach -s ${s.socket} --of ${s.owner.name} -n demote`);
    await op.waitFor(/session demote \(joined; .* you are operator\)/);
    op.type('echo typed-$((20+1))');
    await op.waitFor(/typed-21/);

    assert.equal(s.owner.au(['server', 'allow', '--observer', s.operator.name]).status, 0);
    await op.waitFor(/your role on this server is now observer .*no longer type/);
    op.type('echo demoted-$((30+2))');
    await op.waitFor(/read-only: you are an observer of session demote/);
    const screen = String(probe(s.owner.name, s.socket, 'request', { action: 'status', session: 'demote' }).body?.screen ?? '');
    assert.doesNotMatch(screen, /demoted/, 'nothing the demoted operator typed reached the agent');

    assert.equal(s.owner.au(['server', 'deny', s.operator.name]).status, 0);
    await op.waitFor(/refused: your access to this server was withdrawn/);
    await op.waitFor(/connection to the server lost/);
    const changes = s.audit().filter((e) => e.event === 'role-change' && e.user === s.operator.name);
    assert.deepEqual(
      changes.map((e) => `${e.session}:${e.from}->${e.to}`),
      ['demote:operator->observer', 'demote:observer->none'],
    );
    assert.ok(s.audit().some((e) => e.event === 'input-refused' && e.session === 'demote' && e.user === s.operator.name));
    // Back as it was, for the next test.
    assert.equal(s.owner.au(['server', 'allow', '--operator', s.operator.name, s.agent]).status, 0);
    assert.equal(s.owner.au(['sessions', 'kill', 'demote', '-s', s.socket]).status, 0);
  });

  test('`au server init --dir DIR` prints instructions that work as printed; the foreground log says when a session ends', async () => {
    const steps = new Map<string, string>();
    for (const line of s.initOutput.split('\n')) {
      const m = /^(\d)\. .*?: (au .*?)(?:\s{3}\(.*)?$/.exec(line);
      if (m) steps.set(m[1]!, m[2]!.replace(/ \[-r\]$/, ''));
    }
    assert.equal(steps.size, 4, s.initOutput);
    // 1: the server, in the foreground, in the owner's terminal (the fixture's one stopped first).
    s.stopAndWait();
    const server = terminal(s.owner, 200, 40);
    server.type(steps.get('1')!.replace(/^au /, `${s.au} `));
    await server.waitFor(new RegExp(`listening on ${s.socket}`));
    // 3: the owner starts a session (on the test's agent: the default one is not made here).
    const owner = terminal(s.owner);
    owner.type(`${steps.get('3')!.replace(/^au /, `${s.au} `).replace('SESSION', 'lit')} -a ${s.agent}`);
    await owner.waitFor(/session lit \(started; .* you are owner\)/);
    // 4: a colleague (the fixture made them operator with step 2's command) joins.
    const colleague = terminal(s.operator);
    colleague.type(steps.get('4')!.replace(/^au /, `${s.au} `).replace('SESSION', 'lit'));
    await colleague.waitFor(/session lit \(joined; .* you are operator\)/);
    colleague.type('echo literal-$((40+2))');
    await owner.waitFor(/literal-42/);
    owner.type('exit 4');
    await server.waitFor(/au: session lit ended: exit code 4 \(the agent command exited\) after \d+ s/);
    server.keys('C-c');
    await server.waitFor(/au: stopping \(SIGINT\)/);
    await eventually(() => s.serverPid() === 0, 'the foreground server removed its pid file');
  });
});
