// Adversarial review of the screen guard / per-session isolation / crash handler change
// (review3). Every attack tried is a test that asserts the attack FAILS; an attack that
// succeeds is kept with { todo: 'ATTACK SUCCEEDS: ...' } so that the suite stays green.
// In-process attacks on ScreenGuard and ScreenModel first (fast), then the real server
// (human, observer, agent) from test/helpers/session-server.ts.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { agentHomeOf } from '../../src/agents/names.js';
import { MAX_MARKS_PER_CELL, ScreenGuard, isZeroWidth } from '../../src/server/screen-guard.js';
import { ScreenModel } from '../../src/server/screen.js';
import { Recording, readRecording } from '../../src/server/recording.js';
import { hostileStream, random } from '../helpers/hostile-output.js';
import { type SharedServer, eventually, probe, probeAsync, sharedServerWithTwoAgents } from '../helpers/session-server.js';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { type Human, createHuman, sh } from '../helpers/system.js';

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

/** 64 KB (the model's SKIP_TAIL) of one token repeated. */
const flood = (token: string): Buffer => latin1(token.repeat(Math.ceil(65536 / token.length))).subarray(0, 65536 - (65536 % token.length));

describe('review3, in process: the guard and the model', () => {
  // How long one batch takes, per token and at 1000x1000, and how soon a calm model draws
  // beside flooded ones, are figures of `npm run bench` (bench/screen.ts), not thresholds here.
  test(
    'the shared budget: while three models are flooded with cost-1 CBT, a fourth model (B) still shows a line written once',
    { timeout: 30_000 },
    async () => {
      const floods = [0, 1, 2].map(() => new ScreenModel(80, 24));
      const b = new ScreenModel(80, 24);
      const chunk = flood('\x1b[99Z');
      const feeder = setInterval(() => floods.forEach((m) => m.write(chunk)), 20);
      try {
        await new Promise((r) => setTimeout(r, 500));
        b.write(latin1('B-LINE-MARK\r\n'));
        // The floods go on all along: B is not starved (how soon it draws is bench/screen.ts's figure).
        await eventually(() => /B-LINE-MARK/.test(b.text()), "B's model shows the line while the others are flooded", 20_000);
      } finally {
        clearInterval(feeder);
        floods.forEach((m) => m.dispose());
        b.dispose();
      }
    },
  );

  test('a recording on a filesystem that fills up: what was written stays a readable asciicast (no torn line), the error does not escape output()', () => {
    const dir = mkdtempSync('/tmp/aut-r3-fs-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'aut-r3-fs', dir]);
    let threw: unknown;
    let problem = '';
    try {
      const rec = new Recording(join(dir, 'x.cast'), { cols: 80, rows: 24, command: 'x', title: 't' });
      try {
        for (let i = 0; i < 200; i++) rec.output(latin1(`line ${i} ${'\x01'.repeat(3000)}\r\n`));
        rec.close();
      } catch (error) {
        threw = error;
      }
      try {
        readRecording(join(dir, 'x.cast'));
      } catch (error) {
        problem = String(error);
      }
    } finally {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(`recording on a full fs: output() threw ${String(threw)}; reading it back: ${problem || 'fine'}`);
    assert.equal(threw, undefined, `output() threw ${String(threw)}`);
    assert.equal(problem, '', `the recording cannot be read back: ${problem}`);
  });

  test('guard state machine edges: any chunking (split UTF-8, ESC inside CSI, C1 both forms, strings, overflowing and thousands of parameters, intermediates) gives the same output, never a string introducer, a C1 or more than 4 marks per cell', () => {
    const edges = [
      latin1('\x1b[1;2\x1b[31mred'), // ESC inside CSI
      latin1('\x1b[12\x1b]52;c;QUFB\x07'), // OSC inside CSI
      latin1('\x9b2147483647b\x9d52;c;QUFB\x9c\x90q\x9c'), // 8-bit C1 (invalid UTF-8: dropped)
      Buffer.from('\u009b2147483647b\u009d52;c;QUFB\u009c\u0090q#0\u009c', 'utf8'), // UTF-8 encoded C1
      latin1(`\x1b[${'1;'.repeat(5000)}m`), // thousands of parameters
      latin1(`\x1b[${'9'.repeat(500)}L`), // overflow
      latin1(`\x1b[38:2:${':'.repeat(200)}m`), // colon subparameters
      latin1('\x1b[ !"#$%&\'()*+,-./p'), // many intermediates
      latin1('\x1b(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((B'), // long ESC
      latin1('\x1bP1$r\x1b\\\x1bP$qm\x1b\\\x1bPq#0;2;0;0;0#0!999999~\x1b\\'), // DECRQSS, sixel
      latin1('\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\'), // OSC 8
      latin1('\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\'),
      Buffer.from(`e${'\u0301'.repeat(50)}👨\u200d👩\u200d👧\u200d👦${'\u200d'.repeat(50)}`, 'utf8'),
      latin1('\xf0\x9f\x98'), // truncated 4-byte
      latin1('\xed\xa0\x80\xc0\xaf\xe0\x80\xaf\xf4\x90\x80\x80'), // surrogate, overlong, > U+10FFFF
    ];
    const next = random(99);
    for (let round = 0; round < 40; round++) {
      const input = Buffer.concat([...edges, Buffer.from(hostileStream(round + 1, 200))].sort(() => next() - 0.5));
      const whole = Buffer.from(new ScreenGuard(80, 24).filter(input).output);
      const guard = new ScreenGuard(80, 24);
      const parts: Buffer[] = [];
      for (let at = 0; at < input.length;) {
        const n = 1 + Math.floor(next() * 7);
        parts.push(Buffer.from(guard.filter(input.subarray(at, at + n)).output));
        at += n;
      }
      assert.deepEqual(Buffer.concat(parts), whole, `round ${round}: chunking changes the output`);
      // A budgeted run resumed from `consumed` gives the same bytes too.
      const budgeted = new ScreenGuard(80, 24);
      const slices: Buffer[] = [];
      for (let at = 0; at < input.length;) {
        const r = budgeted.filter(input.subarray(at), 50);
        slices.push(Buffer.from(r.output));
        at += r.consumed;
      }
      assert.deepEqual(Buffer.concat(slices), whole, `round ${round}: budgeted slices change the output`);
      const text = whole.toString('utf8');
      assert.ok(!/\x1b[\]PX^_]/.test(text), `round ${round}: a string introducer passed`);
      assert.ok(!/[\u0080-\u009f]/.test(text), `round ${round}: a C1 control passed`);
      let marks = 0;
      for (const ch of text) {
        if (isZeroWidth(ch.codePointAt(0)!))
          assert.ok(++marks <= MAX_MARKS_PER_CELL, `round ${round}: more than ${MAX_MARKS_PER_CELL} marks`);
        else marks = 0;
      }
      // Every CSI that passed is at most 64 bytes, and its counts fit the screen.
      for (const m of text.matchAll(/\x1b\[([\x20-\x3f]*)([\x40-\x7e])/g)) {
        assert.ok(m[0].length <= 66, `round ${round}: a ${m[0].length}-byte CSI passed`);
        if ('b@LMSTXPZI'.includes(m[2]!) && !/[<=>?\x20-\x2f]/.test(m[1]!))
          for (const n of m[1]!.split(/[;:]/))
            assert.ok(Number(n || 0) <= 80, `round ${round}: count ${n} passed in ${JSON.stringify(m[0])}`);
      }
    }
  });

  test('after any of these sequences the model is back in its ground state: a marker printed next is on its screen', () => {
    const model = new ScreenModel(80, 24);
    const attacks = [
      '\x1b[',
      '\x1b[1;',
      '\x1b(',
      '\x1b#',
      '\x1bP',
      '\x1b[?1049h',
      `\x1b[${'1;'.repeat(3000)}`,
      '\xe2\x82',
      '\x1b[>',
      '\x1b[ ',
      '\x1b[4h',
    ];
    for (const attack of attacks) {
      model.write(latin1(`${attack}`));
      model.write(latin1('\x1b\\\x18\x1b[4l\x1b[?1049l\r\nMARK-OK\r\n'));
      model.snapshot(() => {});
      assert.match(model.text(), /MARK-OK/, `after ${JSON.stringify(attack)}: ${model.text()}`);
      model.write(latin1('\x1b[2J'));
    }
    model.dispose();
  });

  test('an unterminated string (ESC ] with no end) hides later output from the model exactly as it does from a real xterm (no view shows other text than a real terminal would), and each terminator ends it', async () => {
    const xtermHeadless = (await import('@xterm/headless')).default ?? (await import('@xterm/headless'));
    const cases = [
      'harmless\r\n\x1b]0;',
      '\x1b]0;x\x07',
      '\x1b]0;x\x1b\\',
      '\x1b]0;x\x18',
      '\x1b]0;x\x1a',
      '\x1bPq#0\x1b\\',
      '\x1b_x\x07',
      '\x1b]0;\r\n\x9c',
      '\x1b]0;x\xc2\x9c',
      '\x1bPq\xc2\x9c',
      '\x1b^x\x07',
      '\x1bXx\x07',
      '\x1b]0;x\x1b[',
    ];
    const differ: string[] = [];
    for (const c of cases) {
      const bytes = latin1(`${c}${'what the agent really does\r\n'.repeat(3)}`);
      const model = new ScreenModel(80, 24);
      model.write(bytes);
      model.snapshot(() => {});
      const raw = new xtermHeadless.Terminal({ cols: 80, rows: 24, allowProposedApi: true, logLevel: 'off' });
      await new Promise<void>((r) => raw.write(bytes, r));
      const rawText = Array.from({ length: 24 }, (_, y) => raw.buffer.active.getLine(y)?.translateToString(true) ?? '').join('\n');
      if (model.text() !== rawText) differ.push(c);
      model.dispose();
      raw.dispose();
    }
    assert.deepEqual(differ, [], `the guard and xterm disagree on where these strings end: ${JSON.stringify(differ)}`);
  });
});

describe('review3, the real server', () => {
  let s: SharedServer;
  let agentB: string;
  sharedServerWithTwoAgents((made) => ({ s, agentB } = made));

  const writeInHome = (agent: string, name: string, data: Buffer): string => {
    const file = join(agentHomeOf(agent), name);
    writeFileSync(file, data, { mode: 0o644 });
    return file;
  };
  const kill = (session: string): void => {
    s.owner.au(['sessions', 'kill', session, '-s', s.socket]);
  };
  const screenOf = (session: string): string =>
    String(probe(s.owner.name, s.socket, 'request', { action: 'status', session }).body?.screen ?? '');

  test(
    'four agent sessions flooding cost-1 CBT sequences: B keeps an interactive echo and a fresh server screen, a joiner is served, RSS bounded',
    { timeout: 120_000 },
    async () => {
      const serverPid = s.serverPid();
      const file = writeInHome(s.agent, 'cbt.bin', flood('\x1b[99Z'));
      const base = probe(s.owner.name, s.socket, 'latency', { session: 'lat-base', agent: agentB, samples: 30 });
      kill('lat-base');
      probe(s.owner.name, s.socket, 'many', {
        prefix: 'cbt-',
        count: 4,
        agent: s.agent,
        command: ['bash', '-c', `while :; do cat ${file}; done`],
      });
      let maxRss = 0;
      const sampler = setInterval(() => existsSync(`/proc/${serverPid}`) && (maxRss = Math.max(maxRss, rssKb(serverPid))), 100);
      try {
        await new Promise((r) => setTimeout(r, 1000));
        const underAttack = await probeAsync(s.owner.name, s.socket, 'latency', { session: 'lat-b', agent: agentB, samples: 30 });
        // B's server screen: a marker printed by B appears there (what a late joiner of B gets).
        probe(s.owner.name, s.socket, 'run', { session: 'screen-b', agent: agentB, command: ['bash'], until: '', detach: true });
        probe(s.owner.name, s.socket, 'run', {
          session: 'screen-b',
          input: 'echo fresh-$((40+2))\r',
          until: 'fresh-42',
          detach: true,
          timeoutMs: 20_000,
        });
        await eventually(() => /fresh-42\s*\n/.test(screenOf('screen-b')), "B's screen shows the marker", 20_000);
        const joiner = probe(s.observer.name, s.socket, 'run', {
          session: 'cbt-0',
          readOnly: true,
          until: '',
          detach: true,
          timeoutMs: 10_000,
        });
        // The latencies are diagnostics (speed is npm run bench's); what holds is that B answers every echo.
        console.log(
          `B echo p50/p99: alone ${base.p50?.toFixed(0)}/${base.p99?.toFixed(0)} ms, with 4 CBT floods ${underAttack.p50?.toFixed(0)}/${underAttack.p99?.toFixed(0)} ms; RSS ${(maxRss / 1024).toFixed(0)} MB`,
        );
        assert.ok(joiner.welcome, JSON.stringify(joiner));
        assert.ok(existsSync(`/proc/${serverPid}`), 'the server is up');
        assert.ok(maxRss < 400 * 1024, `RSS ${maxRss} kB`);
        assert.equal(underAttack.n, 30, `B's echoes under attack: ${JSON.stringify(underAttack)}`);
      } finally {
        clearInterval(sampler);
        for (const id of ['cbt-0', 'cbt-1', 'cbt-2', 'cbt-3', 'lat-b', 'screen-b']) kill(id);
      }
    },
  );

  test(
    'ten hostile sessions (fuzz, marks, alt-screen toggles, wraps, emoji ZWJ, region+IL, tab storms, stty resize storms): server up, RSS bounded, every joiner gets a screen, B answers',
    { timeout: 180_000 },
    async () => {
      const serverPid = s.serverPid();
      const kinds: Buffer[] = [
        Buffer.from(hostileStream(11, 3000)),
        Buffer.from(`${'e\u0301\u0302\u0303\u0304\u0305'.repeat(6000)}`),
        latin1('\x1b[?1049h\x1b[2J\x1b[?1049l\x1b[?47h\x1b[?47l\x1b[?1047h\x1b[?1047l'.repeat(1000)),
        latin1('x'.repeat(200_000)),
        Buffer.from('👨\u200d👩\u200d👧\u200d👦🏳️\u200d🌈'.repeat(5000)),
        latin1('\x1b[2;23r\x1b[2;1H\x1b[999L\x1b[999M\x1bM\x1bD'.repeat(4000)),
        latin1('\x1b[3g\x1bH\t\x1b[99I\x1b[99Z\x1b[0g'.repeat(6000)),
        latin1('\x1b[?2004h\x1b[200~paste\x1b[201~\x1b[?2004l\x1b]8;;http://x/\x1b\\l\x1b]8;;\x1b\\\x1bPq#0!999~\x1b\\'.repeat(1000)),
        latin1('\x1b[22;0t\x1b[23;0t\x1b[18t\x1b[8;999;999t\x1b[?1$p\x1b[c\x1b[6n'.repeat(3000)),
      ];
      const files = kinds.map((k, i) => writeInHome(s.agent, `mix-${i}.bin`, k));
      const commands = files.map((f) => ['bash', '-c', `for i in 1 2 3 4 5; do cat ${f}; done; echo H-DO""NE; exec sleep 1000`]);
      // The tenth resizes its own PTY from inside (TIOCSWINSZ) while printing.
      commands.push([
        'bash',
        '-c',
        `for i in $(seq 1 300); do stty cols $((i % 999 + 1)) rows $((i % 999 + 1)); printf 'w%.0s' $(seq 1 50); done; stty cols 80 rows 24; echo H-DO""NE; exec sleep 1000`,
      ]);
      let maxRss = 0;
      const sampler = setInterval(() => existsSync(`/proc/${serverPid}`) && (maxRss = Math.max(maxRss, rssKb(serverPid))), 100);
      try {
        const runs = commands.map((command, i) =>
          probeAsync(s.owner.name, s.socket, 'run', {
            session: `mix-${i}`,
            agent: s.agent,
            command,
            until: 'H-DONE',
            detach: true,
            timeoutMs: 90_000,
          }),
        );
        const b = probe(s.owner.name, s.socket, 'run', {
          session: 'calm',
          agent: agentB,
          command: ['bash'],
          input: 'echo calm-$((3+4))\r',
          until: 'calm-7',
          detach: true,
          timeoutMs: 20_000,
        });
        assert.ok(b.welcome, JSON.stringify(b));
        const results = await Promise.all(runs);
        for (const [i, r] of results.entries()) assert.ok(r.welcome?.created, `mix-${i}: ${JSON.stringify(r).slice(0, 300)}`);
        assert.ok(existsSync(`/proc/${serverPid}`), 'the server is up');
        for (let i = 0; i < commands.length; i++) {
          const joiner = probe(s.observer.name, s.socket, 'run', {
            session: `mix-${i}`,
            readOnly: true,
            until: '',
            detach: true,
            timeoutMs: 10_000,
          });
          assert.ok(joiner.welcome, `joiner of mix-${i}: ${JSON.stringify(joiner).slice(0, 300)}`);
          assert.equal(joiner.errors.length, 0, JSON.stringify(joiner.errors));
        }
        // Each hostile screen ends usable: a line typed after the flood is on the server's screen.
        await eventually(
          () => /H-DONE/.test(screenOf('mix-9')),
          () => `mix-9 screen: ${screenOf('mix-9')}`,
          10_000,
        );
        const again = probe(s.owner.name, s.socket, 'run', {
          session: 'calm',
          input: 'echo calm-$((5+4))\r',
          until: 'calm-9',
          detach: true,
          timeoutMs: 10_000,
        });
        assert.ok(again.welcome, JSON.stringify(again));
        console.log(`ten hostile sessions: server max RSS ${(maxRss / 1024).toFixed(0)} MB`);
        assert.ok(maxRss < 400 * 1024, `RSS ${maxRss} kB`);
        assert.ok(!s.audit().some((e) => /screen .* failed/.test(String(e.reason ?? ''))), 'no model failed');
      } finally {
        clearInterval(sampler);
        for (let i = 0; i < commands.length; i++) kill(`mix-${i}`);
        kill('calm');
      }
    },
  );

  test(
    'the recording cannot be forged or lie: newlines, quotes, a fake asciicast line, a fake header, invalid UTF-8 and NULs are recorded as data, each line parses',
    { timeout: 60_000 },
    async () => {
      const forged = `"]\n[0.1, "o", "FORGED"]\n{"version":2,"width":1}\n\\"]\r\n`;
      const file = writeInHome(
        s.agent,
        'forge.bin',
        Buffer.concat([Buffer.from(forged), latin1('\xff\xfe\xc3\x00\x01'), Buffer.from('\u2028\u2029 end-forge\n')]),
      );
      const r = probe(s.owner.name, s.socket, 'run', {
        session: 'forge',
        agent: s.agent,
        command: ['bash', '-c', `cat ${file}; echo; echo FORGE-DO""NE; exec sleep 1000`],
        until: 'FORGE-DONE',
        detach: true,
      });
      assert.ok(r.welcome?.created, JSON.stringify(r));
      kill('forge');
      await eventually(() => s.audit().some((e) => e.event === 'end' && e.session === 'forge'), 'forge ends');
      const dir = join(s.stateDir, 'recordings');
      const name = readdirSync(dir).find((n) => n.endsWith('-forge.cast'));
      assert.ok(name);
      const lines = readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean);
      const header = JSON.parse(lines[0]!);
      assert.equal(header.version, 2);
      const events = lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]);
      for (const e of events)
        assert.ok(
          Array.isArray(e) && typeof e[0] === 'number' && (e[1] === 'o' || e[1] === 'r' || e[1] === 'x') && typeof e[2] === 'string',
          JSON.stringify(e),
        );
      assert.ok(!events.some((e) => e[2] === 'FORGED'), 'no forged event');
      const data = events.map((e) => e[2]).join('');
      assert.ok(data.includes('[0.1, "o", "FORGED"]'), 'the fake line is recorded as data');
      assert.ok(data.includes('end-forge'));
    },
  );

  test(
    'the recording grows at most a small multiple of what the agent prints (NUL/C0 output is escaped \\u0001: 6x)',
    {
      timeout: 60_000,
      todo: 'ATTACK SUCCEEDS (in part): each recording is now bounded on disk by [server] max_recording_mb, but every C0 byte the agent prints still costs 6 bytes of recording (JSON \\u00XX): 1 MB of \\x01 is a 6 MB recording, and the cap is reached 6x sooner',
    },
    async () => {
      const r = probe(s.owner.name, s.socket, 'run', {
        session: 'amp',
        agent: s.agent,
        command: ['bash', '-c', `head -c 1000000 /dev/zero | tr '\\0' '\\1'; echo AMP-DO""NE; exec sleep 1000`],
        until: 'AMP-DONE',
        detach: true,
      });
      assert.ok(r.welcome?.created, JSON.stringify(r));
      kill('amp');
      await eventually(() => s.audit().some((e) => e.event === 'end' && e.session === 'amp'), 'amp ends');
      const dir = join(s.stateDir, 'recordings');
      const name = readdirSync(dir).find((n) => n.endsWith('-amp.cast'))!;
      const size = statSync(join(dir, name)).size;
      console.log(`1 MB of \\x01 printed: recording ${(size / 1e6).toFixed(1)} MB`);
      assert.ok(size < 2_000_000, `the recording is ${size} bytes for 1 MB printed`);
    },
  );

  test(
    'a full disk under the recordings (the agent can fill it, 6x amplified) never kills a session nor the server',
    { timeout: 90_000 },
    async () => {
      const dir = join(s.stateDir, 'recordings');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const uid = Number(execFileSync('id', ['-u', s.owner.name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', s.owner.name], { encoding: 'utf8' }).trim());
      chownSync(dir, uid, gid);
      const serverPid = s.serverPid();
      // B first (its recording is opened before the disk fills).
      const b = probe(s.owner.name, s.socket, 'run', {
        session: 'disk-b',
        agent: agentB,
        command: ['bash'],
        input: 'echo b-$((1+2))\r',
        until: 'b-3',
        detach: true,
      });
      assert.ok(b.welcome?.created, JSON.stringify(b));
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=512k,uid=${uid},gid=${gid},mode=700`, 'aut-review3-full', dir]);
      try {
        const a = probe(s.owner.name, s.socket, 'run', {
          session: 'disk-a',
          agent: s.agent,
          command: ['bash', '-c', `head -c 300000 /dev/zero | tr '\\0' '\\1'; echo DISK-DO""NE; exec sleep 1000`],
          until: 'DISK-DONE',
          detach: true,
          timeoutMs: 20_000,
        });
        await new Promise((r) => setTimeout(r, 1500));
        const alive = existsSync(`/proc/${serverPid}`);
        const stop = s.audit().find((e) => e.event === 'server-stop' && e.pid === serverPid);
        const ends = s.audit().filter((e) => e.event === 'end' && (e.session === 'disk-a' || e.session === 'disk-b'));
        console.log(
          `disk full: server alive ${alive}; a ${JSON.stringify(a).slice(0, 200)}; stop ${JSON.stringify(stop)}; ends ${JSON.stringify(ends)}`,
        );
        assert.ok(alive, `the server died: ${JSON.stringify(stop)}`);
        const again = probe(s.owner.name, s.socket, 'run', {
          session: 'disk-b',
          input: 'echo b-$((2+2))\r',
          until: 'b-4',
          detach: true,
          timeoutMs: 10_000,
        });
        assert.ok(again.welcome, `B after the disk filled: ${JSON.stringify(again).slice(0, 300)}`);
      } finally {
        execFileSync('umount', ['-l', dir]);
        if (!existsSync(`/proc/${serverPid}`)) s.start();
        kill('disk-a');
        kill('disk-b');
      }
    },
  );

  test(
    'an operator resize storm (1000x1000 <-> 2x2, 3000 frames) on a session whose agent fills the screen: B stays interactive, the audit is not flooded',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync('/tmp/aut-r3-');
      chmodSync(dir, 0o755);
      const script = join(dir, 'resize.mjs');
      writeFileSync(
        script,
        `import { connect } from 'node:net';
const [socketPath, session, count] = process.argv.slice(2);
const frame = (t, p) => { const b = Buffer.isBuffer(p) ? p : Buffer.from(p); const h = Buffer.alloc(5); h.writeUInt8(t, 0); h.writeUInt32BE(b.length, 1); return Buffer.concat([h, b]); };
const s = connect(socketPath);
let welcomed = false; let buf = Buffer.alloc(0);
s.on('data', (c) => { buf = Buffer.concat([buf, c]); while (buf.length >= 5) { const t = buf[0]; const n = buf.readUInt32BE(1); if (buf.length < 5 + n) break; if (t === 2) welcomed = true; buf = buf.subarray(5 + n); } });
s.on('connect', async () => {
  s.write(frame(1, JSON.stringify({ protocol: 1, action: 'attach', session, cols: 80, rows: 24 })));
  while (!welcomed) await new Promise((r) => setTimeout(r, 20));
  const started = Date.now();
  for (let i = 0; i < Number(count); i++) { const p = Buffer.alloc(4); const big = i % 2 === 0; p.writeUInt16BE(big ? 1000 : 2, 0); p.writeUInt16BE(big ? 1000 : 2, 2); s.write(frame(0x20, p)); if (i % 10 === 9) await new Promise((r) => setTimeout(r, 10)); }
  s.write(frame(0x25, Buffer.alloc(0)));
  setTimeout(() => { console.log(JSON.stringify({ sentMs: Date.now() - started })); process.exit(0); }, 500);
});
`,
        { mode: 0o644 },
      );
      try {
        const fill = writeInHome(s.agent, 'fill.bin', latin1('\x1b[1;31;44mX\x1b[0;32mY'.repeat(4000)));
        const r = probe(s.owner.name, s.socket, 'run', {
          session: 'resized',
          agent: s.agent,
          command: ['bash', '-c', `while :; do cat ${fill}; sleep 0.05; done`],
          until: '',
          detach: true,
        });
        assert.ok(r.welcome?.created, JSON.stringify(r));
        const before = s.audit().length;
        const storm = new Promise<string>((resolve) => {
          const child = spawn('runuser', ['-u', s.operator.name, '--', process.execPath, script, s.socket, 'resized', '3000'], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.on('close', () => resolve(out));
        });
        await new Promise((r) => setTimeout(r, 300));
        const lat = await probeAsync(s.owner.name, s.socket, 'latency', { session: 'lat-resize', agent: agentB, samples: 60 });
        const stormOut = await storm;
        const added = s.audit().filter((e) => e.event === 'resize').length;
        console.log(
          `resize storm ${stormOut.trim()}: B echo p50/p99 ${lat.p50?.toFixed(0)}/${lat.p99?.toFixed(0)} ms; ${added} resize audit lines (${s.audit().length - before} lines in all)`,
        );
        assert.ok(existsSync(`/proc/${s.serverPid()}`));
        assert.equal(lat.n, 60, `B's echoes during the storm: ${JSON.stringify(lat)}`);
        assert.ok(added < 100, `${added} resize lines in the audit`);
      } finally {
        kill('resized');
        kill('lat-resize');
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test(
    'a 1000x1000 session full of attributes: each late joiner gets a usable screen quickly, and observers joining in a loop do not stall B (the snapshot is not budgeted)',
    { timeout: 150_000 },
    async () => {
      const row = writeInHome(s.agent, 'row.bin', latin1(`${'\x1b[31;1mX\x1b[32;4mY'.repeat(500)}\r\n`));
      const r = probe(s.owner.name, s.socket, 'run', {
        session: 'huge',
        agent: s.agent,
        command: [
          'bash',
          '-c',
          `for i in $(seq 1 1000); do cat ${row}; [ $((i % 20)) = 0 ] && sleep 0.1; done; echo HUGE-DO""NE; exec sleep 1000`,
        ],
        until: '',
        cols: 1000,
        rows: 1000,
        detach: true,
      });
      assert.ok(r.welcome?.created, JSON.stringify(r).slice(0, 300));
      try {
        await eventually(() => sh(['pgrep', '-u', s.agent, '-f', '^sleep 1000$']).status === 0, 'the agent filled its screen', 60_000);
        await new Promise((r) => setTimeout(r, 1000));
        const t = Date.now();
        const joiner = probe(s.observer.name, s.socket, 'run', {
          session: 'huge',
          readOnly: true,
          until: 'HUGE-DONE|too large',
          detach: true,
          timeoutMs: 10_000,
        });
        const joinMs = Date.now() - t; // a diagnostic: the joiner's deadline (10 s) is what holds
        const latency = probeAsync(s.owner.name, s.socket, 'latency', { session: 'lat-huge', agent: agentB, samples: 60 });
        await new Promise((r) => setTimeout(r, 800));
        const crowd = probe(s.observer.name, s.socket, 'crowd', { sessions: ['huge'], perSession: 15, holdMs: 200 });
        const lat = await latency;
        console.log(
          `1000x1000 attributed screen: a joiner waited ${joinMs} ms; 15 joins: ${JSON.stringify(crowd).slice(0, 200)}; B echo p50/p99 ${lat.p50?.toFixed(0)}/${lat.p99?.toFixed(0)} ms`,
        );
        assert.ok(joiner.welcome, JSON.stringify(joiner).slice(0, 300));
        assert.ok(!/too large to send/.test(JSON.stringify(joiner)), 'the joiner got a screen, not the "too large" notice');
        assert.equal(lat.n, 60, `B's echoes while observers joined: ${JSON.stringify(lat)}`);
      } finally {
        kill('huge');
        kill('lat-huge');
      }
    },
  );

  test(
    'an observer joining and leaving in a loop cannot flood the audit log nor the other clients with notices',
    { timeout: 90_000 },
    async () => {
      const r = probe(s.owner.name, s.socket, 'run', { session: 'watched', agent: s.agent, command: ['bash'], until: '', detach: true });
      assert.ok(r.welcome?.created);
      const before = s.audit().length;
      for (let i = 0; i < 5; i++) probe(s.observer.name, s.socket, 'crowd', { sessions: ['watched'], perSession: 40, holdMs: 100 });
      await new Promise((r) => setTimeout(r, 1000));
      const added = s.audit().length - before;
      console.log(`200 observer connections: ${added} audit lines`);
      kill('watched');
      assert.ok(added < 50, `${added} audit lines for one observer's 200 joins`);
    },
  );
});

describe('review3, the web page', () => {
  let owner: Human;
  let agent: string;
  let stateDir: string;
  let browser: Browser | undefined;
  const serverPid = (): number => {
    try {
      return Number(readFileSync(join(stateDir, 'server.sock.pid'), 'utf8').trim());
    } catch {
      return 0;
    }
  };
  before(() => {
    owner = createHuman();
    agent = owner.newAgent();
    stateDir = join(owner.home, '.local/state/agent-as-unix-user');
  });
  after(async () => {
    await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 10_000))]).catch(() => undefined);
    const pid = serverPid();
    if (pid > 0) sh(['kill', '-TERM', String(pid)]);
    await eventually(() => pid <= 0 || !existsSync(`/proc/${pid}`), 'the server stops').catch(() => undefined);
    owner?.cleanup();
  });

  test(
    'an observer tab watching a CBT / DECSTR flood stays responsive (each evaluate answers within 1 s) and shows what follows',
    { timeout: 150_000 },
    async () => {
      const started = owner.au(['server', 'run', '-d', '--web', '127.0.0.1:0']);
      assert.equal(started.status, 0, started.stderr);
      const printed = owner.au(['server', 'token', '--json']);
      const { url, observer } = JSON.parse(printed.stdout) as { url: string; observer: string };
      const home = agentHomeOf(agent);
      writeFileSync(join(home, 'web.bin'), Buffer.concat([flood('\x1b[99Z'), flood('\x1b[!p'), flood('\x1b[3g\r\x1b[99I')]), {
        mode: 0o644,
      });
      const command = [
        'bash',
        '-c',
        'while [ ! -e go ]; do sleep 0.1; done; for i in $(seq 1 40); do cat web.bin; done; echo; echo WEB-DO""NE; exec sleep 1000',
      ];
      const created = probe(owner.name, join(stateDir, 'server.sock'), 'run', {
        session: 'flood-web',
        agent,
        command,
        until: '',
        detach: true,
      });
      assert.equal(created.welcome?.created, true, JSON.stringify(created));
      browser = await launchChromium();
      const page = await (await browser.newContext({ viewport: { width: 1100, height: 700 } })).newPage();
      await page.goto(`${url}#token=${observer}`);
      await page.locator('#sessions li[data-session="flood-web"] button').click();
      await page.locator('#status').filter({ hasText: 'connected to flood-web' }).waitFor();
      writeFileSync(join(home, 'go'), '');
      const deadline = Date.now() + 90_000;
      let shown = '';
      let worst = 0;
      while (!/WEB-DONE/.test(shown)) {
        if (Date.now() > deadline) {
          const status = await page.locator('#status').textContent();
          const leaves = readFileSync(
            join(
              stateDir,
              readdirSync(stateDir).find((n) => n.startsWith('audit-'))!,
            ),
            'utf8',
          )
            .split('\n')
            .filter((l) => /"leave"|"end"/.test(l));
          throw new Error(
            `the page never showed the end (lagging or dropped); worst answer ${worst} ms; status ${status}; ${leaves.join(' ').slice(0, 600)}; shown ${JSON.stringify(shown.slice(-300))}`,
          );
        }
        const t = Date.now();
        shown = await page.evaluate(() => (window as unknown as { auTerminalText: () => string }).auTerminalText(), undefined);
        worst = Math.max(worst, Date.now() - t);
        await new Promise((r) => setTimeout(r, 100));
      }
      // The tab kept answering until the end showed (the deadline above); its worst answer is a diagnostic.
      console.log(`web page under a CBT/DECSTR/CHT flood: worst evaluate answer ${worst} ms`);
    },
  );
});
