// Record retention: the recording's size cap, and pruning only the record's own old files.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CAP_MARKER_PREFIX, Recording } from '../../src/server/recording.js';
import { pruneRecords, retentionOf } from '../../src/server/retention.js';
import { emptyConfig } from '../../src/config/schema.js';
import { tempDir } from '../helpers/temp.js';

test('a recording past its size cap ends with a marker and records nothing more; the cap is said once', () => {
  const path = join(tempDir(), 'r.cast');
  const recording = new Recording(path, { cols: 80, rows: 24, command: 'x', title: 't' }, 20_000);
  let capped = 0;
  recording.onCapped = () => capped++;
  for (let i = 0; i < 200; i++) recording.output(Buffer.from(`line ${i} ${'x'.repeat(200)}\r\n`));
  recording.close();
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  assert.ok(readFileSync(path).length < 20_000 + 500, 'the file stays about at the cap');
  const last = JSON.parse(lines.at(-1)!) as [number, string, string];
  assert.equal(last[1], 'm');
  assert.ok(last[2].startsWith(CAP_MARKER_PREFIX), last[2]);
  assert.equal(capped, 1);
  for (const line of lines) JSON.parse(line);
});

test('[server] keep_days and max_recording_mb: defaults, values, and bad values', () => {
  assert.deepEqual(retentionOf(emptyConfig()), { keepDays: 30, maxRecordingBytes: 512 * 1024 * 1024 });
  const config = emptyConfig();
  config.extra.server = { keep_days: 7, max_recording_mb: 1 };
  assert.deepEqual(retentionOf(config), { keepDays: 7, maxRecordingBytes: 1024 * 1024 });
  config.extra.server = { keep_days: -1 };
  assert.throws(() => retentionOf(config), /server\.keep_days must be a positive number/);
});

test("pruning removes the record's old files and nothing else", () => {
  const home = tempDir();
  const env = { XDG_STATE_HOME: home };
  const dir = join(home, 'agent-as-unix-user');
  mkdirSync(join(dir, 'recordings'), { recursive: true });
  const old = Date.now() / 1000 - 40 * 86400;
  const file = (rel: string, aged: boolean): string => {
    const path = join(dir, rel);
    writeFileSync(path, '{}\n');
    if (aged) utimesSync(path, old, old);
    return path;
  };
  const oldAudit = file('audit-2020-01-01.jsonl', true);
  const today = file(`audit-${new Date().toISOString().slice(0, 10)}.jsonl`, false);
  const oldCast = file('recordings/20200101T000000-abc123.cast', true);
  const newCast = file('recordings/20991231T000000-def456.cast', false);
  const notOurs = file('recordings/notes.txt', true);
  const config = file('server.log', true);
  symlinkSync(oldCast, join(dir, 'recordings', '20200101T000001-link.cast'));
  const removed = pruneRecords(30, env)
    .map((f) => f.path)
    .sort();
  assert.deepEqual(removed, [oldAudit, oldCast].sort());
  for (const kept of [today, newCast, notOurs, config]) assert.ok(existsSync(kept), kept);
});
