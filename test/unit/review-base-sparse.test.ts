// STAGE/base.json (the earliest birth time au saw per upper entry, review/base.ts) and the
// sparse-aware copy and hash (review/sparse.ts), on hand-made folders.
import assert from 'node:assert/strict';
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { StageBase, noteStage } from '../../src/review/base.js';
import { copySparse, largeFileReason, sparseHash } from '../../src/review/sparse.js';
import { must } from '../helpers/system.js';
import { tempDir } from '../helpers/temp.js';

describe('review: STAGE/base.json', () => {
  test('keeps the earliest birth time of an entry the agent re-creates, and drops entries gone from upper', () => {
    const root = tempDir('au-base-');
    const src = join(root, 'src');
    const stage = join(root, 'stage');
    mkdirSync(src);
    mkdirSync(join(stage, 'upper'), { recursive: true });
    writeFileSync(join(stage, 'upper', 'c.txt'), 'agent\n');
    writeFileSync(join(src, 'c.txt'), 'base\n');
    const first = lstatSync(join(stage, 'upper', 'c.txt'), { bigint: true });
    noteStage(stage, src, process.getuid!());
    // Re-created: a new inode (and birth time) at the same path.
    writeFileSync(join(stage, 'upper', '.t'), 'agent\n');
    renameSync(join(stage, 'upper', '.t'), join(stage, 'upper', 'c.txt'));
    const now = lstatSync(join(stage, 'upper', 'c.txt'), { bigint: true });
    assert.notEqual(now.ino, first.ino);
    noteStage(stage, src, process.getuid!());
    const base = StageBase.load(stage);
    const since = base.since([Buffer.from('c.txt')], now);
    assert.equal(since, first.birthtimeNs > 0n ? first.birthtimeNs : first.ctimeNs);
    assert.equal(base.sourceMoved([Buffer.from('c.txt')], lstatSync(join(src, 'c.txt'), { bigint: true })), false);
    writeFileSync(join(src, 'c.txt'), 'human edit\n');
    assert.equal(base.sourceMoved([Buffer.from('c.txt')], lstatSync(join(src, 'c.txt'), { bigint: true })), true);
    rmSync(join(stage, 'upper', 'c.txt'));
    noteStage(stage, src, process.getuid!());
    assert.deepEqual(JSON.parse(readFileSync(join(stage, 'base.json'), 'utf8')), { version: 1, entries: {} });
    assert.equal(lstatSync(join(stage, 'base.json')).mode & 0o777, 0o600);
  });
});

describe('review: sparse files', () => {
  test('copySparse keeps holes; sparseHash follows the bytes; a file above 100 MiB is a risk', () => {
    const root = tempDir('au-sparse-');
    const from = join(root, 'from');
    must(['truncate', '-s', '1G', from]);
    writeFileSync(from, 'tail\n', { flag: 'a' });
    const a = openSync(from, 'r');
    const b = openSync(join(root, 'to'), 'w+');
    try {
      const size = lstatSync(from).size;
      copySparse(a, b, size);
      const to = lstatSync(join(root, 'to'));
      assert.equal(to.size, size);
      assert.ok(to.blocks * 512 < 1 << 20, `${to.blocks} blocks`);
      assert.equal(sparseHash(a, size), sparseHash(b, size));
      assert.match(largeFileReason(lstatSync(from, { bigint: true })) ?? '', /very large file \(1024 MiB/);
    } finally {
      closeSync(a);
      closeSync(b);
    }
    const small = join(root, 'small');
    writeFileSync(small, 'one\n');
    const fd = openSync(small, 'r');
    const before = sparseHash(fd, 4);
    closeSync(fd);
    writeFileSync(small, 'two\n');
    const fd2 = openSync(small, 'r');
    assert.notEqual(sparseHash(fd2, 4), before);
    closeSync(fd2);
    assert.equal(largeFileReason(lstatSync(small, { bigint: true })), undefined);
  });
});
