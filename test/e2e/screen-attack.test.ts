// Agent output against the session server's screen model, as the hostile agent: agent A prints
// the 22-byte sequence that made xterm.js allocate 10^10 elements, the 14-byte one that froze
// it for minutes, and a fuzzed stream of huge counts and combining-mark floods, while agent B's
// session runs. The server stays up, B is unaffected, A's recording holds every byte A printed,
// a late joiner of A gets its screen, the audit has every end, the server's RSS stays bounded.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { agentHomeOf } from '../../src/agents/names.js';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { REPEAT_BLOCK, REPEAT_CRASH, hostileStream } from '../helpers/hostile-output.js';
import { type SharedServer, eventually, probe, probeAsync, sharedServerWithTwoAgents } from '../helpers/session-server.js';

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
/** The bound stated for the server's memory under this attack (two sessions; the model is bounded by the screen). */
const RSS_BOUND_KB = 300 * 1024;

/** Everything A prints: the two sequences, then the fuzz, then a reset and a marker. */
function attackBytes(): Buffer {
  const marks = Buffer.from(`x${'\u0301'.repeat(100_000)}\r\n`);
  const markedCells = Buffer.from(`${'e\u0301\u0302\u0303\u0304\u0305\u0306'.repeat(3000)}\r\n`);
  const fuzz = [1, 2, 3, 4, 5].map((seed) => Buffer.from(hostileStream(seed, 4000)));
  return Buffer.concat([
    REPEAT_CRASH,
    Buffer.from('\r\n'),
    REPEAT_BLOCK,
    Buffer.from('\r\n'),
    marks,
    markedCells,
    ...fuzz,
    Buffer.from('\x1bc'),
  ]);
}

describe('hostile output against the session server', () => {
  let s: SharedServer;
  let agentB: string;
  sharedServerWithTwoAgents((made) => ({ s, agentB } = made));

  test(
    'the 22-byte and 14-byte sequences and a fuzzed flood from A: server up, B unaffected, A recorded whole, late joiner served, every end audited',
    { timeout: 300_000 },
    async () => {
      const payload = attackBytes();
      // In A's home (the agent has a /tmp of its own).
      const file = join(agentHomeOf(s.agent), 'attack.bin');
      writeFileSync(file, payload, { mode: 0o644 });
      const serverPid = s.serverPid();
      assert.ok(serverPid > 0, 'the server pid');
      let maxRss = 0;
      const sampler = setInterval(() => {
        if (existsSync(`/proc/${serverPid}`)) maxRss = Math.max(maxRss, rssKb(serverPid));
      }, 50);
      try {
        const b = probe(s.owner.name, s.socket, 'run', {
          session: 'calm-b',
          agent: agentB,
          command: ['bash'],
          input: 'echo b-$((1+1))\r',
          until: 'b-2',
          detach: true,
        });
        assert.equal(b.welcome?.created, true, JSON.stringify(b));
        // A prints everything, then a marker, and stays (so a late joiner finds it running).
        // (Asynchronous, so that the RSS sampler runs meanwhile.)
        const a = await probeAsync(s.owner.name, s.socket, 'run', {
          session: 'hostile-a',
          agent: s.agent,
          command: ['bash', '-c', `cat ${file}; echo A-DO""NE; exec sleep 1000`],
          until: 'A-DONE',
          keepOutput: true,
          detach: true,
          timeoutMs: 120_000,
        });
        assert.equal(a.welcome?.created, true, JSON.stringify(a));
        assert.ok(existsSync(`/proc/${serverPid}`), 'the server is still running');
        maxRss = Math.max(maxRss, rssKb(serverPid));

        // B answers as before.
        const again = probe(s.owner.name, s.socket, 'run', { session: 'calm-b', input: 'echo b-$((2+3))\r', until: 'b-5', detach: true });
        assert.ok(again.welcome, JSON.stringify(again));

        // A late joiner of A gets a screen (the deadline is generous; the time goes to the log).
        const joiner = probe(s.observer.name, s.socket, 'run', {
          session: 'hostile-a',
          readOnly: true,
          until: 'A-DONE',
          detach: true,
          timeoutMs: 10_000,
        });
        assert.ok(joiner.welcome, JSON.stringify(joiner));
        assert.equal(joiner.errors.length, 0, JSON.stringify(joiner.errors));
        maxRss = Math.max(maxRss, rssKb(serverPid));
        console.log(
          `late joiner of the attacked session: screen after ${joiner.elapsedMs.toFixed(0)} ms; server max RSS ${(maxRss / 1024).toFixed(0)} MB`,
        );
        // The owner re-attaching is not dropped either.
        const owner = probe(s.owner.name, s.socket, 'run', { session: 'hostile-a', until: 'A-DONE', detach: true, timeoutMs: 10_000 });
        assert.ok(owner.welcome, JSON.stringify(owner));
        assert.ok(!owner.errors.some((e: string) => /dropped/.test(e)), JSON.stringify(owner.errors));

        for (const session of ['hostile-a', 'calm-b']) assert.equal(s.owner.au(['sessions', 'kill', session, '-s', s.socket]).status, 0);
        await eventually(
          () => ['hostile-a', 'calm-b'].every((id) => s.audit().some((e) => e.event === 'end' && e.session === id)),
          'both sessions end',
        );

        // A's recording holds every byte A printed (as the PTY passed them: LF became CR LF).
        const recordingsDir = join(s.stateDir, 'recordings');
        const name = readdirSync(recordingsDir).find((n) => n.endsWith('-hostile-a.cast'));
        assert.ok(name, 'a recording of hostile-a');
        const lines = readFileSync(join(recordingsDir, name), 'utf8').split('\n').filter(Boolean).slice(1);
        const recorded = lines
          .map((line) => JSON.parse(line) as [number, string, string])
          .filter(([, type]) => type === 'o')
          .map(([, , data]) => data)
          .join('');
        const printed = Buffer.from(payload.toString('latin1').replace(/\n/g, '\r\n'), 'latin1').toString('utf8');
        assert.ok(
          recorded.includes(printed),
          `the recording (${recorded.length} chars: ${JSON.stringify(recorded.slice(0, 300))}) holds all ${printed.length} chars A printed`,
        );
        assert.ok(maxRss < RSS_BOUND_KB, `server RSS ${maxRss} kB`);
        assert.ok(existsSync(`/proc/${serverPid}`), 'the server is still running');
        const audit = s.audit();
        for (const e of audit.filter((x) => x.event === 'start'))
          assert.ok(
            audit.some((x) => x.event === 'end' && x.session === e.session),
            `end of ${e.session}`,
          );
      } finally {
        clearInterval(sampler);
      }
    },
  );

  test(
    'a server that dies of an error nothing caught still records every end and its stop; recordings are flushed, agents told to end',
    { timeout: 120_000 },
    async () => {
      // The injected failure: a module loaded into the server (NODE_OPTIONS) that throws from a
      // callback when the server gets SIGUSR2, as a bug in any event handler would.
      const dir = mkdtempSync('/tmp/aut-crash-');
      chmodSync(dir, 0o755);
      const injector = join(dir, 'throw-on-usr2.cjs');
      writeFileSync(injector, "process.on('SIGUSR2', () => setImmediate(() => { throw new Error('injected failure'); }));\n", {
        mode: 0o644,
      });
      try {
        const old = s.serverPid();
        s.stop();
        await eventually(() => !existsSync(`/proc/${old}`), 'the server stops');
        const started = s.owner.au(['server', 'run', '-d', '-s', s.socket], { env: { NODE_OPTIONS: `--require ${injector}` } });
        assert.equal(started.status, 0, started.stderr);
        const pid = s.serverPid();
        const a = probe(s.owner.name, s.socket, 'run', {
          session: 'doomed-a',
          agent: s.agent,
          command: ['bash', '-c', 'echo last-words-$((6*7)); exec sleep 1000'],
          until: 'last-words-42',
          detach: true,
        });
        assert.equal(a.welcome?.created, true, JSON.stringify(a));
        const b = probe(s.owner.name, s.socket, 'run', { session: 'doomed-b', agent: agentB, command: ['bash'], until: '', detach: true });
        assert.equal(b.welcome?.created, true, JSON.stringify(b));
        process.kill(pid, 'SIGUSR2');
        await eventually(() => !existsSync(`/proc/${pid}`), 'the server exits');
        const audit = s.audit();
        for (const session of ['doomed-a', 'doomed-b']) {
          const end = audit.find((e) => e.event === 'end' && e.session === session);
          assert.ok(end, `end of ${session}`);
          assert.match(String(end.reason), /the server crashed \(injected failure\)/);
        }
        const stop = audit.filter((e) => e.event === 'server-stop' && e.pid === pid);
        assert.equal(stop.length, 1, JSON.stringify(stop));
        assert.match(String(stop[0]!.reason), /^crashed: injected failure/);
        // What the agent printed in the last moments is in the recording (flushed, not lost with the batch).
        const name = readdirSync(join(s.stateDir, 'recordings')).find((n) => n.endsWith('-doomed-a.cast'));
        assert.ok(name);
        assert.match(readFileSync(join(s.stateDir, 'recordings', name), 'utf8'), /last-words-42/);
        await eventually(
          () => s.agentProcesses().length === 0,
          () => `agent processes left: ${s.agentProcesses().join(' ')}`,
        );
        assert.ok(!existsSync(s.socket), 'the socket is removed');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
