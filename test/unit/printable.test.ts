import assert from 'node:assert/strict';
import { test } from 'node:test';
import { printable } from '../../src/cli/output.js';

test('printable: C0, DEL and C1 controls are written as \\xNN, a backslash as \\\\, the rest unchanged', () => {
  assert.equal(printable('a\u001b]52;c;x\u0007b\nwarning: x\r\u007f\u009b2J'), 'a\\x1b]52;c;x\\x07b\\x0awarning: x\\x0d\\x7f\\x9b2J');
  assert.equal(printable('C:\\x1b'), 'C:\\\\x1b');
  assert.equal(printable('/home/you/été/日本'), '/home/you/été/日本');
});

test('printable: line separators and bidirectional overrides are written as \\u{NNNN}', () => {
  assert.equal(printable('a\u2028b\u202ec\u2066'), 'a\\u{2028}b\\u{202e}c\\u{2066}');
});
