// The web page's "N changes await review": counted off the request path, refreshed when a
// session ends (even one that ends while a count runs) or when the counts are old, and only a
// positive whole number ever becomes text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { awaitingReviewText } from '../../src/server/protocol/messages.js';
import { ReviewCounts } from '../../src/server/web/review-counts.js';

test('awaitingReviewText: a positive count says so; 0, non-numbers and fractions say nothing', () => {
  assert.equal(awaitingReviewText(2), '2 changes await review');
  assert.equal(awaitingReviewText(1), '1 change awaits review');
  for (const bad of [0, -1, 1.5, Number.NaN, '2', '<b>2</b>', null, undefined]) assert.equal(awaitingReviewText(bad), undefined);
});

test('ReviewCounts: answers at once from its cache; recounts when a session ended, never two counts at a time', async () => {
  let staged = 3;
  let calls = 0;
  let finish: (() => void) | undefined;
  const counts = new ReviewCounts(async () => {
    calls += 1;
    await new Promise<void>((resolve) => (finish = resolve));
    return staged;
  }, 60_000);
  assert.equal(counts.current(['a'], ['s1']).get('a'), undefined, 'the first request does not wait for the count');
  assert.equal(calls, 1);
  counts.current(['a'], []); // s1 ended while counting: no second count at the same time...
  assert.equal(calls, 1);
  finish!();
  await new Promise((r) => setImmediate(r));
  assert.equal(counts.current(['a'], []).get('a'), 3);
  assert.equal(calls, 2, '...but one right after it');
  staged = 0;
  finish!();
  await new Promise((r) => setImmediate(r));
  assert.equal(counts.current(['a'], []).get('a'), 0);
  assert.equal(calls, 2, 'nothing changed and the counts are fresh: no count');
});
