// The refusal limiter (A29): a flood from one source, or from many, adds a bounded number of
// audit lines per window, and the counts add up to every refusal.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type RefusalSummaryLine, RefusalLimiter } from '../../src/server/refusals.js';

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
});
