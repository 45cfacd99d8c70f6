// The session server under pressure: a client that never reads during `yes | head -c 100M`,
// a late joiner after 1 MB of output, fragmented and malformed frames by the thousand.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type SharedServer, eventually, probe, probeAsync, sharedServer } from '../helpers/session-server.js';
import { Terminal } from '../helpers/tmux.js';

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

describe('session server under load', () => {
  let s: SharedServer;
  const terminals: Terminal[] = [];

  before(() => {
    s = sharedServer();
  });
  after(() => {
    for (const t of terminals) t.close();
    s?.cleanup();
  });

  test('a client that never reads is dropped while another client gets everything; RSS stays bounded', async () => {
    // Enough to overflow any client queue many times over; speed itself is measured by npm run bench.
    const flood = 'yes | head -c 100M';
    const baseline = probe(s.owner.name, s.socket, 'run', {
      session: 'flood-a',
      agent: s.agent,
      command: ['bash', '-c', flood],
      keepOutput: false,
    });
    assert.equal(baseline.end?.exitCode, 0, JSON.stringify(baseline));
    assert.ok(baseline.bytes > 100 * 1024 * 1024, `reader got ${baseline.bytes} bytes`);

    const serverPid = s.serverPid();
    let maxRss = 0;
    const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssKb(serverPid))), 50);
    try {
      const reader = probeAsync(s.owner.name, s.socket, 'run', {
        session: 'flood-b',
        agent: s.agent,
        command: ['bash', '-c', `sleep 2; ${flood}`],
        keepOutput: false,
      });
      await eventually(
        () => probe(s.owner.name, s.socket, 'request', { action: 'list' }).body?.sessions?.some((x: { id: string }) => x.id === 'flood-b'),
        'flood-b started',
      );
      const staller = probeAsync(s.observer.name, s.socket, 'stall', { session: 'flood-b', holdMs: baseline.elapsedMs * 1.3 + 3000 });
      const withStaller = await reader;
      const stalled = await staller;
      assert.equal(withStaller.end?.exitCode, 0, JSON.stringify(withStaller));
      const elapsed = withStaller.elapsedMs - 2000;
      console.log(
        `100M through a session: ${baseline.elapsedMs.toFixed(0)} ms alone, ${elapsed.toFixed(0)} ms with a stalled client; server max RSS ${(maxRss / 1024).toFixed(0)} MB`,
      );
      assert.equal(stalled.closed, true, 'the stalled client was disconnected');
      assert.ok(stalled.bytesReceived < 64 * 1024 * 1024, `the stalled client got only what its bound allows (${stalled.bytesReceived})`);
      assert.ok(
        s.audit().some((e) => e.event === 'leave' && e.session === 'flood-b' && e.user === s.observer.name && /too slow/.test(e.reason)),
      );
      assert.ok(maxRss < 400 * 1024, `server RSS ${maxRss} kB`);
    } finally {
      clearInterval(sampler);
    }
  });

  test('a late joiner after 1 MB of output sees the current screen at once', async () => {
    const owner = new Terminal(s.owner, 80, 24);
    terminals.push(owner);
    owner.type(
      `${s.au} attach -s ${s.socket} -a ${s.agent} -n late -- bash -c 'seq 1 200000; printf "marker-%s\\n" done; exec sleep 1000'`,
    );
    await owner.waitFor(/marker-done/, 60_000);
    owner.keys('C-]', 'd');
    await owner.waitFor(/detached from session late/);
    const observer = new Terminal(s.observer, 80, 24);
    terminals.push(observer);
    observer.type(`clear; ${s.au} attach -s ${s.socket} --of ${s.owner.name} -n late -r`);
    const screen = await observer.waitFor(/marker-done/);
    const lastRows = (text: string): string[] =>
      text
        .replace(/\s+$/, '')
        .split('\n')
        .slice(-23)
        .map((l) => l.trimEnd());
    const status = probe(s.owner.name, s.socket, 'request', { action: 'status', session: 'late' });
    const serverScreen = String(status.body?.screen ?? '');
    assert.deepEqual(lastRows(screen), lastRows(serverScreen));
    const expected = [...Array.from({ length: 22 }, (_, i) => String(199979 + i)), 'marker-done'];
    assert.deepEqual(lastRows(screen), expected);
    assert.equal(s.owner.au(['sessions', 'kill', 'late', '-s', s.socket]).status, 0);
  });

  test('fragmented handshake and frames, a silent client, oversize lengths, 10k malformed frames, endless input: the server stays up, sessions go on', async () => {
    const created = probe(s.owner.name, s.socket, 'run', { session: 'fz', agent: s.agent, command: ['bash'], until: '', detach: true });
    assert.equal(created.welcome?.created, true, JSON.stringify(created));
    const fragmented = probe(s.owner.name, s.socket, 'fragmented', { session: 'fz', input: 'echo frag-$((1+1))\r', until: 'frag-2' });
    assert.equal(fragmented.welcome, true, JSON.stringify(fragmented));
    assert.equal(fragmented.pong, 'p1');

    const [silent, oversize] = await Promise.all([
      probeAsync(s.owner.name, s.socket, 'silent'),
      probeAsync(s.operator.name, s.socket, 'oversize'),
    ]);
    assert.match(String(silent.errors), /protocol error: no handshake within 5000 ms/);
    assert.ok(silent.closedAfterMs >= 4500 && silent.closedAfterMs < 9000, `closed after ${silent.closedAfterMs} ms`);
    assert.match(String(oversize.errors), /protocol error: frame type 0x01 announces 4294967295 bytes \(limit 16384\)/);

    const serverPid = s.serverPid();
    const garbage = probe(s.owner.name, s.socket, 'garbage', { session: 'fz', frames: 10_000, perConnection: 100, seed: 7 });
    assert.equal(garbage.sent, 10_000, JSON.stringify(garbage));
    assert.ok(garbage.closedByServer > 0, JSON.stringify(garbage));
    assert.ok(rssKb(serverPid) < 300 * 1024);
    // Endless input to an agent that does not read it: refused past a bound, not queued forever.
    assert.equal(
      probe(s.owner.name, s.socket, 'run', { session: 'deaf', agent: s.agent, command: ['sleep', '1000'], until: '', detach: true }).welcome
        ?.created,
      true,
    );
    const flood = probe(s.operator.name, s.socket, 'inputflood', { session: 'deaf', frames: 40 });
    assert.match(String(flood.errors), /input dropped: the agent is not reading its input/);
    assert.ok(rssKb(serverPid) < 300 * 1024);
    assert.equal(s.owner.au(['sessions', 'kill', 'deaf', '-s', s.socket]).status, 0);

    const after = probe(s.operator.name, s.socket, 'run', {
      session: 'fz',
      input: 'echo still-$((2+3))\r',
      until: 'still-5',
      detach: true,
    });
    assert.ok(after.welcome, JSON.stringify(after));
    assert.equal(s.owner.au(['sessions', 'kill', 'fz', '-s', s.socket]).status, 0);
  });
});
