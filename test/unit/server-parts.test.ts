// Session-server logic without sockets or users: roles, the detach key, audit escaping, the
// screen model's snapshots (late join), the recording format.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import xtermHeadless from '@xterm/headless';
import { emptyConfig } from '../../src/config/schema.js';
import { DetachKeyFilter } from '../../src/client/attach.js';
import { TerminalOutputFilter } from '../../src/terminal/output-filter.js';
import { escapeBytes } from '../../src/server/audit.js';
import { decideRole } from '../../src/server/auth.js';
import { Recording, readRecording } from '../../src/server/recording.js';
import { ScreenModel, type Snapshot } from '../../src/server/screen.js';
import { type PresenceCount, PresenceLimiter } from '../../src/server/presence.js';

describe('roles', () => {
  const config = emptyConfig();
  config.extra.server = { operators: ['bob', '@devs'], observers: ['carol', '@watchers', 'agent1'] };
  config.agents.push({
    userName: 'agent1',
    group: 'su-as-agent1',
    entrypoint: '/x',
    entrypointSha256: '',
    bootstrapped: true,
    mounts: [],
    uid: 5001,
    extra: {},
  });
  const groups: Record<string, string[]> = { dave: ['dave', 'devs'], erin: ['erin', 'watchers'], frank: ['frank'] };
  const decide = (uid: number, user: string) => decideRole({ pid: 1, uid, gid: uid, user }, 1000, config, (u) => groups[u] ?? []);

  test('owner, operators and observers by user and by group', async () => {
    assert.equal((await decide(1000, 'alice')).role, 'owner');
    assert.equal((await decide(1001, 'bob')).role, 'operator');
    assert.equal((await decide(1002, 'dave')).role, 'operator');
    assert.equal((await decide(1003, 'carol')).role, 'observer');
    assert.equal((await decide(1004, 'erin')).role, 'observer');
  });

  test('anyone else, and agent users even when listed, are refused', async () => {
    assert.equal((await decide(1005, 'frank')).role, undefined);
    assert.match((await decide(1005, 'frank')).reason, /not configured/);
    const agent = await decide(5001, 'agent1');
    assert.equal(agent.role, undefined);
    assert.match(agent.reason, /agents are never admitted/);
  });
});

describe('detach key', () => {
  test('Ctrl-] d detaches; Ctrl-] Ctrl-] sends one; Ctrl-A and others pass', () => {
    const filter = new DetachKeyFilter();
    assert.deepEqual(filter.feed(Buffer.from([0x01, 0x61])), { send: Buffer.from([0x01, 0x61]), detach: false });
    assert.deepEqual(filter.feed(Buffer.from([0x1d, 0x1d])), { send: Buffer.from([0x1d]), detach: false });
    assert.deepEqual(filter.feed(Buffer.from([0x1d, 0x78])), { send: Buffer.from([0x1d, 0x78]), detach: false });
    assert.deepEqual(filter.feed(Buffer.from([0x62, 0x1d])), { send: Buffer.from([0x62]), detach: false });
    assert.deepEqual(filter.feed(Buffer.from([0x64])), { send: Buffer.alloc(0), detach: true }, 'the prefix may come in an earlier read');
  });
});

test('audit escaping keeps printable ASCII and escapes the rest', () => {
  assert.equal(escapeBytes(Buffer.from('ls -l\r\x01\x1b[A\\é')), 'ls -l\\x0d\\x01\\x1b[A\\x5c\\xc3\\xa9');
});

function replayInto(snapshot: Snapshot, cols: number, rows: number): Promise<string> {
  const terminal = new xtermHeadless.Terminal({ cols, rows, allowProposedApi: true, scrollback: 0 });
  return new Promise((resolve) => {
    terminal.write(snapshot.screen);
    terminal.write(snapshot.follow, () => {
      const lines: string[] = [];
      for (let y = 0; y < rows; y++)
        lines.push(terminal.buffer.active.getLine(terminal.buffer.active.viewportY + y)?.translateToString(true) ?? '');
      resolve(lines.join('\n'));
    });
  });
}

describe('screen model', () => {
  test('a snapshot plus the output that followed it redraws the current screen (late join)', async () => {
    const model = new ScreenModel(80, 24);
    for (let i = 0; i < 20; i++) model.write(Buffer.from(`\x1b[1;3${i % 8}mline ${i}\x1b[0m\r\n`));
    const snapshot = await new Promise<Snapshot>((resolve) => model.snapshot(resolve));
    model.write(Buffer.from('after the snapshot\r\n'));
    await new Promise<void>((resolve) => model.snapshot(() => resolve()));
    // The joiner gets the snapshot, the output that followed it, then live output.
    const joiner = await replayInto(
      { ...snapshot, follow: Buffer.concat([snapshot.follow, Buffer.from('after the snapshot\r\n')]) },
      80,
      24,
    );
    assert.equal(joiner, model.text());
    assert.match(model.text(), /line 19\n?.*\nafter the snapshot/);
  });

  test('output faster than the model is skipped down to a tail, memory stays bounded, the screen ends right', async () => {
    const model = new ScreenModel(80, 24);
    for (let i = 1; i <= 300_000; i++) model.write(Buffer.from(`${i}\r\n`));
    const snapshot = await new Promise<Snapshot>((resolve) => model.snapshot(resolve));
    assert.ok(snapshot.follow.length <= 1024 * 1024 + 16, `follow ${snapshot.follow.length}`);
    await new Promise<void>((resolve) => {
      const wait = (): void => model.snapshot((s) => (s.follow.length === 0 ? resolve() : setTimeout(wait, 10)));
      wait();
    });
    const lines = model.text().split('\n');
    assert.equal(lines[22], '300000');
  });
});

test('recordings are asciicast v2 with UTF-8 split across chunks kept whole', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aut-cast-'));
  try {
    const path = join(dir, 'x.cast');
    const recording = new Recording(path, { cols: 100, rows: 30, command: 'bash', title: 't' });
    const e = Buffer.from('é');
    recording.output(Buffer.concat([Buffer.from('a'), e.subarray(0, 1)]));
    recording.output(e.subarray(1));
    recording.resize(90, 20);
    recording.close();
    const { header, events } = readRecording(path);
    assert.equal(header.version, 2);
    assert.equal(header.width, 100);
    assert.deepEqual(
      events.map((ev) => [ev.type, ev.data]),
      [
        ['o', 'a'],
        ['o', 'é'],
        ['r', '90x20'],
      ],
    );
    assert.equal(readFileSync(path, 'utf8').split('\n').length, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('OSC 52 clipboard writes are removed from output, whole or split across reads; other escapes pass', () => {
  const filter = new TerminalOutputFilter();
  const run = (...parts: string[]): string => parts.map((p) => filter.push(Buffer.from(p, 'latin1')).toString('latin1')).join('');
  assert.equal(run('a\x1b]52;c;aGVsbG8=\x07b'), 'ab');
  assert.equal(run('x\x1b]5', '2;c;ZXZpbA==', '\x1b\\y'), 'xy');
  // (The title is pushed first, so that the end of the run can give the human its own back.)
  assert.equal(run('\x1b]0;title\x1b\\\x1b[31mred\x1b]8;;http://x\x1b\\'), '\x1b[22;0t\x1b]0;title\x1b\\\x1b[31mred\x1b]8;;http://x\x1b\\');
  assert.equal(run('\x1b', ']', '52;c;', 'Zm9v', '\x07', 'z'), 'z');
});

describe('presence limiter (joins and leaves in a loop)', () => {
  test('the first few of a user are reported in full, the rest counted into one summary per window; other users keep their own allowance', () => {
    const summaries: PresenceCount[] = [];
    const limiter = new PresenceLimiter((c) => summaries.push(c), { windowMs: 60_000, perUser: 4 });
    let full = 0;
    for (let i = 0; i < 100; i++) if (limiter.admit('mallory', i % 2 === 0 ? 'join' : 'leave')) full++;
    assert.equal(full, 4);
    assert.ok(limiter.admit('alice', 'join'), 'another user is not silenced by mallory');
    assert.equal(summaries.length, 0, 'nothing summarised before the window ends');
    limiter.flush();
    assert.deepEqual(
      summaries.map(({ user, joins, leaves }) => ({ user, joins, leaves })),
      [{ user: 'mallory', joins: 48, leaves: 48 }],
    );
    assert.ok(limiter.admit('mallory', 'join'), 'a new window, a new allowance');
  });
});

test('resume hint: au commands for a profile that declares resume arguments, none for one-shots or other profiles', async () => {
  const { resumeHint } = await import('../../src/profiles/resume.js');
  const { BUILTIN_PROFILES } = await import('../../src/profiles/builtin.js');
  const claude = BUILTIN_PROFILES.find((p) => p.name === 'claude')!;
  const codex = BUILTIN_PROFILES.find((p) => p.name === 'codex')!;
  assert.equal(resumeHint(claude, 'agent', []), 'au: resume with: au claude --resume');
  assert.equal(resumeHint(claude, 'bob', ['--model', 'x']), 'au: resume with: au claude -a bob --resume');
  assert.equal(resumeHint(claude, 'bob', [], 'session'), 'au: resume with: au attach -a bob -p claude -- --resume');
  assert.equal(resumeHint(claude, 'agent', ['-p', 'hi']), undefined);
  assert.equal(resumeHint(claude, 'agent', ['--version']), undefined);
  assert.equal(resumeHint(codex, 'agent', []), undefined);
});
