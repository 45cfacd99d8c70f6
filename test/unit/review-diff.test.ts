// `au changes --diff`: a unified diff of the staged text files; on a terminal the agent's bytes
// cannot act on it (every control shown as a visible escape, then the output filter).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { withLayers } from '../../src/review/changes.js';
import { DiffWriter, diffLines, writeDiff } from '../../src/review/diff.js';
import { tempDir } from '../helpers/temp.js';

function sink(isTTY: boolean): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  }) as Writable & { isTTY?: boolean };
  stream.isTTY = isTTY;
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

function staged(files: { src?: Record<string, string>; upper: Record<string, string> }): {
  stage: string;
  source: string;
  humanUid: number;
} {
  const root = tempDir('au-diff-');
  mkdirSync(join(root, 'src'));
  mkdirSync(join(root, 'stage/upper'), { recursive: true });
  for (const [name, content] of Object.entries(files.src ?? {})) writeFileSync(join(root, 'src', name), content);
  for (const [name, content] of Object.entries(files.upper)) writeFileSync(join(root, 'stage/upper', name), content);
  return { stage: join(root, 'stage'), source: join(root, 'src'), humanUid: process.getuid!() };
}

test('diffLines: the shortest edit script', () => {
  const lines = (s: string): Buffer[] => s.split('').map((c) => Buffer.from(`${c}\n`));
  const ops = diffLines(lines('abcabba'), lines('cbabac'));
  assert.equal(ops.filter((o) => o.kind !== ' ').length, 5);
  assert.equal(
    ops
      .filter((o) => o.kind !== '+')
      .map((o) => o.line.toString())
      .join(''),
    'a\nb\nc\na\nb\nb\na\n',
  );
  assert.equal(
    ops
      .filter((o) => o.kind !== '-')
      .map((o) => o.line.toString())
      .join(''),
    'c\nb\na\nb\na\nc\n',
  );
});

test('writeDiff, piped: git-style headers and hunks, the bytes as they are', () => {
  const where = staged({
    src: { 'a.txt': '1\n2\n3\n4\n5\n6\n7\n8\n9\n' },
    upper: { 'a.txt': '1\n2\n3\n4\nfive\n6\n7\n8\n9\n', 'new.txt': 'hi\x1b[2J\n' },
  });
  const out = sink(false);
  withLayers(where, (layers) => writeDiff(layers, layers.changes, new DiffWriter(out.stream)));
  assert.equal(
    out.text(),
    [
      'diff --git a/a.txt b/a.txt',
      '--- a/a.txt',
      '+++ b/a.txt',
      '@@ -2,7 +2,7 @@',
      ' 2',
      ' 3',
      ' 4',
      '-5',
      '+five',
      ' 6',
      ' 7',
      ' 8',
      'diff --git a/new.txt b/new.txt',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/new.txt',
      '@@ -0,0 +1 @@',
      '+hi\x1b[2J',
      '',
    ].join('\n'),
  );
});

test("writeDiff, on a terminal: the agent's controls are shown, never sent; names escaped", () => {
  const where = staged({ upper: { 'x\x1b]0;t\x07.txt': 'ok\n\x1b[2J\x1b[1Ahidden\rover\n\x1b]52;c;ZXZpbA==\x07\u202eevil\n' } });
  const out = sink(true);
  withLayers(where, (layers) => writeDiff(layers, layers.changes, new DiffWriter(out.stream, true)));
  // Only au's own colour sequences remain (ESC [ ... m): without them, no control is left.
  const text = out.text().replace(/\x1b\[[0-9;]*m/g, '');
  assert.deepEqual(text.match(/[\x00-\x08\x0b-\x1f\x7f]/g), null);
  assert.match(text, /^\+\\x1b\[2J\\x1b\[1Ahidden\\x0dover$/m);
  assert.match(text, /\\x1b\]52;c;ZXZpbA==\\x07\\u\{202e\}evil/);
  assert.match(text, /diff --git a\/x\\x1b\]0;t\\x07\.txt/);
  assert.match(out.text(), /\x1b\[7m\\x1b\x1b\[27m/, 'escapes in reverse video');
});
