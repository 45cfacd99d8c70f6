// The refusal limiter (A29): a flood from one source, or from many, adds a bounded number of
// audit lines per window, and the counts add up to every refusal.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DETAILED_BYTES,
  OTHER_SOURCES_LISTED,
  REASON_KEY_CHARS,
  type RefusalSummaryLine,
  RefusalLimiter,
  SUMMARY_BYTES,
} from '../../src/server/refusals.js';

const limits = { windowMs: 60_000, perSource: 3, detailed: 5 };

describe('refusal limiter', () => {
  test('one source: its first refusals in full, the rest counted, with reasons', () => {
    const lines: RefusalSummaryLine[] = [];
    const limiter = new RefusalLimiter((l) => lines.push(l), limits);
    let full = 0;
    for (let i = 0; i < 10_000; i++) if (limiter.admit('127.0.0.1', i % 2 ? '401 no token' : '403 foreign Origin')) full++;
    limiter.flush();
    assert.equal(full, 3);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.source, '127.0.0.1');
    assert.equal(lines[0]!.count, 9_997);
    assert.deepEqual(lines[0]!.reasons, { '403 foreign Origin': 4_998, '401 no token': 4_999 });
  });

  test('many sources (an agent binding every 127.x address): bounded lines, exact total', () => {
    const lines: RefusalSummaryLine[] = [];
    const limiter = new RefusalLimiter((l) => lines.push(l), limits);
    let full = 0;
    for (let i = 0; i < 10_000; i++) if (limiter.admit(`127.0.${i >> 8}.${i & 255}`, `reason ${i}`)) full++;
    limiter.flush();
    assert.equal(full, 5, 'the window budget');
    assert.ok(lines.length <= limits.detailed + 1, `${lines.length} summary lines`);
    const other = lines.find((l) => l.source === 'other sources')!;
    assert.equal(other.sources, 9_995);
    assert.ok(Object.keys(other.reasons).length <= 9, 'distinct reasons are bounded');
    assert.equal(full + lines.reduce((n, l) => n + l.count, 0), 10_000);
  });

  test('a new window starts with a fresh budget', () => {
    const lines: RefusalSummaryLine[] = [];
    const limiter = new RefusalLimiter((l) => lines.push(l), { ...limits, windowMs: 0 });
    for (let i = 0; i < 4; i++) assert.equal(limiter.admit('uid 1234', 'not configured'), true);
    assert.equal(lines.length, 0);
  });
  test('uid sources have a budget of their own: an address flood spends none of it, and each uid keeps its own line', () => {
    const lines: RefusalSummaryLine[] = [];
    const limiter = new RefusalLimiter((l) => lines.push(l), limits);
    for (let i = 0; i < 1000; i++) limiter.admit(`127.0.${i >> 8}.${i & 255}`, `403 foreign Origin ${i}`, 'address', 100);
    assert.equal(limiter.admit('uid 1001', 'not allowed', 'uid'), true, 'the first refusal of a uid is written in full');
    // Past the uid budget too, every uid is tallied on its own line, its reasons its own.
    for (let u = 0; u < 50; u++) for (let i = 0; i < 5; i++) limiter.admit(`uid ${2000 + u}`, `reason of ${2000 + u}`, 'uid');
    limiter.flush();
    for (let u = 0; u < 50; u++) {
      const line = lines.find((l) => l.source === `uid ${2000 + u}`);
      assert.ok(line, `uid ${2000 + u} has a line`);
      assert.deepEqual(Object.keys(line.reasons), [`reason of ${2000 + u}`]);
    }
    const other = lines.find((l) => l.source === 'other sources')!;
    assert.ok(!Object.keys(other.reasons).some((r) => r.includes('reason of')), 'no uid reason merged into other sources');
    assert.equal(other.listed!.length, OTHER_SOURCES_LISTED, 'the first sources are named');
    assert.ok(other.sources! > OTHER_SOURCES_LISTED);
  });

  test('long reasons and many addresses: one window stays within its byte bound', () => {
    const lines: RefusalSummaryLine[] = [];
    const limiter = new RefusalLimiter((l) => lines.push(l), { windowMs: 60_000, perSource: 8, detailed: 20 });
    let detailedBytes = 0;
    for (let i = 0; i < 20_000; i++) {
      const reason = `403 foreign Origin "http://${String(i % 97).repeat(90)}"`;
      if (limiter.admit(`::ffff:127.${i % 200}.${i % 7}.${i % 251}`, reason, 'address', 450)) detailedBytes += 450 + 40;
    }
    limiter.flush();
    const summaryBytes = lines.reduce((n, l) => n + JSON.stringify(l).length + 40, 0);
    assert.ok(detailedBytes <= DETAILED_BYTES, `${detailedBytes} bytes in full`);
    assert.ok(summaryBytes <= SUMMARY_BYTES + 2560, `${summaryBytes} bytes of counts`);
    for (const l of lines) for (const r of Object.keys(l.reasons)) assert.ok(r.length <= REASON_KEY_CHARS);
    assert.equal(lines.reduce((n, l) => n + l.count, 0) + detailedBytes / 490, 20_000, 'every refusal counted');
  });
});
