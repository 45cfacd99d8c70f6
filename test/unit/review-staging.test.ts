// The staging directory's name: built from the agent, the human's uid and a key that can only
// be 16 of [a-z0-9] (the entrypoint checks the same), so no key names a path elsewhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REVIEW_ROOT, isReviewKey, newReviewKey, stageDir, upperDir, workDir } from '../../src/review/staging.js';

test('new keys are 16 of [a-z0-9] and differ; the stage path is REVIEW_ROOT/agent/uid-key', () => {
  const keys = new Set(Array.from({ length: 50 }, () => newReviewKey()));
  assert.equal(keys.size, 50);
  for (const key of keys) assert.ok(isReviewKey(key), key);
  const stage = stageDir('bot', 1000, 'abcdefghij012345');
  assert.equal(stage, `${REVIEW_ROOT}/bot/1000-abcdefghij012345`);
  assert.deepEqual([upperDir(stage), workDir(stage)], [`${stage}/upper`, `${stage}/work`]);
});

test('a key or uid that could name another path is refused', () => {
  for (const key of ['../../../../etc/x', 'abcdefghij01234/', 'ABCDEFGHIJ012345', 'abcdefghij0123456', '', 'abcdefghij01234\n']) {
    assert.throws(() => stageDir('bot', 1000, key), /invalid review key/, JSON.stringify(key));
  }
  assert.throws(() => stageDir('bot', -1, 'abcdefghij012345'), /invalid uid/);
});
