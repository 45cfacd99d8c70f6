import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClipboardWriteFilter } from '../../src/run/clipboard-filter.js';

const run = (chunks: string[]): string => {
  const filter = new ClipboardWriteFilter();
  return chunks.map((c) => filter.push(Buffer.from(c, 'latin1')).toString('latin1')).join('');
};

test('OSC 52 clipboard writes are dropped, everything else passes', () => {
  assert.equal(run(['a\x1b]52;c;ZWNobyBwd25lZA==\x07b']), 'ab');
  assert.equal(run(['a\x1b]52;c;ZWNobw==\x1b\\b']), 'ab');
  assert.equal(run(['title \x1b]0;hello\x07 kept']), 'title \x1b]0;hello\x07 kept');
  assert.equal(run(['plain \x1b[31mred\x1b[0m']), 'plain \x1b[31mred\x1b[0m');
});

test('a sequence split across reads, byte by byte, is still dropped', () => {
  const text = 'x\x1b]52;c;cm0gLXJmIH4=\x1b\\y';
  assert.equal(run([...text]), 'xy');
  assert.equal(run(['x\x1b', ']5', '2;c;abc', '\x1b', '\\y']), 'xy');
  assert.equal(run(['x\x1b', '[1mz']), 'x\x1b[1mz');
});
