// `au changes --diff`: a git-style unified diff of the staged text files. The content is the
// agent's: on a terminal, every byte that is not printable text is shown as a visible escape
// (\x1b, \r, ... in reverse video, which the agent's own bytes can no longer produce) so that no
// line can hide, move or restyle another, and the whole output then goes through the output
// filter that guards every other agent output (src/terminal/output-filter.ts). Piped, the bytes
// are passed as they are, so the diff can be applied as a patch.
import { closeSync, readSync } from 'node:fs';
import { TerminalOutputFilter } from '../terminal/output-filter.js';
import { printable } from '../cli/output.js';
import { type OpenLayers, type StagedChange, openListed, openParent } from './changes.js';
import { isBinary } from './risky.js';

const CONTEXT = 3;
const MAX_DIFF_BYTES = 8 << 20;
/** Myers' algorithm gives up past this many differing lines (the file is then shown as replaced). */
const MAX_EDITS = 2_000;

type Op = { kind: ' ' | '-' | '+'; line: Buffer };

function readFile(rootFd: number, names: readonly Buffer[], ino: bigint | undefined): Buffer | undefined {
  if (ino === undefined) return undefined;
  return openParent(rootFd, names, (dir) => {
    const fd = openListed(dir, names[names.length - 1]!, ino);
    try {
      const parts: Buffer[] = [];
      let total = 0;
      for (;;) {
        const chunk = Buffer.allocUnsafe(1 << 16);
        const n = readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) break;
        total += n;
        if (total > MAX_DIFF_BYTES) return undefined;
        parts.push(chunk.subarray(0, n));
      }
      return Buffer.concat(parts, total);
    } finally {
      closeSync(fd);
    }
  });
}

/** Lines with their end (the last one may lack a newline). */
function lines(content: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === 0x0a) {
      out.push(content.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < content.length) out.push(content.subarray(start));
  return out;
}

/** The shortest edit script from A to B (Myers, O((N+M)D)); falls back to "all removed, all added". */
export function diffLines(a: readonly Buffer[], b: readonly Buffer[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDITS);
  const offset = max + 1;
  let v: Int32Array = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  const same = (i: number, j: number): boolean => a[i]!.equals(b[j]!);
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && same(x, y)) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) return [...a.map((line) => ({ kind: '-' as const, line })), ...b.map((line) => ({ kind: '+' as const, line }))];
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    v = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = v[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      y--;
      ops.push({ kind: ' ', line: a[--x]! });
    }
    if (x === prevX) ops.push({ kind: '+', line: b[--y]! });
    else ops.push({ kind: '-', line: a[--x]! });
  }
  while (x > 0 && y > 0) {
    y--;
    ops.push({ kind: ' ', line: a[--x]! });
  }
  return ops.reverse();
}

/** Hunks of OPS with CONTEXT lines around each change, as unified-diff text lines. */
function hunks(ops: readonly Op[]): { header: string; body: Op[] }[] {
  const out: { header: string; body: Op[] }[] = [];
  const changed = ops.map((op, i) => (op.kind === ' ' ? -1 : i)).filter((i) => i >= 0);
  let i = 0;
  while (i < changed.length) {
    const start = Math.max(0, changed[i]! - CONTEXT);
    let end = changed[i]! + CONTEXT + 1;
    while (i + 1 < changed.length && changed[i + 1]! - CONTEXT <= end) end = changed[++i]! + CONTEXT + 1;
    end = Math.min(end, ops.length);
    i++;
    let oldLine = 1;
    let newLine = 1;
    for (const op of ops.slice(0, start)) {
      if (op.kind !== '+') oldLine++;
      if (op.kind !== '-') newLine++;
    }
    const body = ops.slice(start, end);
    const oldCount = body.filter((o) => o.kind !== '+').length;
    const newCount = body.filter((o) => o.kind !== '-').length;
    const range = (line: number, count: number): string => `${count === 0 ? line - 1 : line}${count === 1 ? '' : `,${count}`}`;
    out.push({ header: `@@ -${range(oldLine, oldCount)} +${range(newLine, newCount)} @@`, body });
  }
  return out;
}

/** How the diff is written: raw bytes (piped) or escaped, coloured and filtered (a terminal). */
export class DiffWriter {
  private readonly filter: TerminalOutputFilter | undefined;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly colour = Boolean(out.isTTY) && !('NO_COLOR' in process.env),
  ) {
    this.filter = out.isTTY ? new TerminalOutputFilter({ answerQueries: false }) : undefined;
  }

  private write(bytes: Buffer): void {
    this.out.write(this.filter ? this.filter.push(bytes) : bytes);
  }

  private paint(text: string, sgr: string): string {
    return this.colour ? `\u001b[${sgr}m${text}\u001b[m` : text;
  }

  /** A line au writes (headers): names in it are escaped by the caller. */
  meta(text: string, sgr = '1'): void {
    this.write(Buffer.from(`${this.paint(text, sgr)}\n`));
  }

  /** One line of the agent's (or the human's) file. */
  content(kind: ' ' | '-' | '+', line: Buffer): void {
    const sgr = kind === '-' ? '31' : kind === '+' ? '32' : '';
    if (!this.filter) {
      this.write(
        Buffer.concat([
          Buffer.from(kind),
          line,
          line[line.length - 1] === 0x0a ? Buffer.alloc(0) : Buffer.from('\n\\ No newline at end of file\n'),
        ]),
      );
      return;
    }
    const hasNewline = line[line.length - 1] === 0x0a;
    const text = visible(hasNewline ? line.subarray(0, -1) : line, this.colour ? sgr : '');
    this.write(
      Buffer.from(
        `${sgr ? this.paint(kind, sgr) : kind}${sgr && this.colour ? `\u001b[${sgr}m` : ''}${text}${this.colour ? '\u001b[m' : ''}\n${hasNewline ? '' : '\\ No newline at end of file\n'}`,
      ),
    );
  }
}

/** LINE as text a terminal shows and cannot act on: escapes for every control, in reverse video. */
export function visible(line: Buffer, sgr: string): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(line);
  let out = '';
  for (const ch of text) {
    const escaped = ch === '\t' ? ch : printable(ch);
    if (escaped === ch || ch === '\\') out += ch;
    else out += sgr === '' ? escaped : `\u001b[7m${escaped}\u001b[27m`;
  }
  return out;
}

const octal = (mode: number | undefined): string => (mode === undefined ? '100644' : `100${(mode & 0o777).toString(8).padStart(3, '0')}`);

/** The diff of one share's staged changes. */
export function writeDiff(layers: OpenLayers, changes: readonly StagedChange[], writer: DiffWriter): void {
  for (const c of changes) {
    const path = printable(c.path);
    const from = c.from === undefined ? path : printable(c.from);
    if (c.type === 'directory') continue;
    writer.meta(`diff --git a/${from} b/${path}`);
    if (c.kind === 'added') writer.meta(`new file mode ${octal(c.mode)}`);
    if (c.kind === 'deleted') writer.meta('deleted file mode 100644');
    if (c.kind === 'renamed') {
      writer.meta(`rename from ${from}`);
      writer.meta(`rename to ${path}`);
    }
    if (c.oldMode !== undefined && c.mode !== undefined) {
      writer.meta(`old mode ${octal(c.oldMode)}`);
      writer.meta(`new mode ${octal(c.mode)}`);
    }
    if (c.replaces !== undefined) writer.meta(`(replaces your ${c.replaces}${c.replaces === 'directory' ? ' and all it holds' : ''})`);
    if (c.kind === 'symlink' || (c.kind === 'replaced' && c.type === 'symlink')) {
      writer.meta(`new symlink -> ${printable(c.target ?? '')}${c.refused ? ` (refused: ${printable(c.refused)})` : ''}`);
      continue;
    }
    if (c.kind === 'mode' || c.type !== 'file') continue;
    let before: Buffer | undefined;
    let after: Buffer | undefined;
    try {
      before =
        c.kind === 'added' || c.replaces === 'directory'
          ? Buffer.alloc(0)
          : readFile(layers.sourceFd, c.fromNames ?? c.names, c.fromNames ? c.fromSourceIno : c.sourceIno);
      after = c.kind === 'deleted' ? Buffer.alloc(0) : readFile(layers.upperFd, c.names, c.upperIno);
    } catch {
      before = after = undefined;
    }
    if (before === undefined || after === undefined) {
      writer.meta(`(not shown: too large or unreadable)`, '2');
      continue;
    }
    if (isBinary(before) || isBinary(after)) {
      writer.meta(
        `Binary files ${c.kind === 'added' ? '/dev/null' : `a/${from}`} and ${c.kind === 'deleted' ? '/dev/null' : `b/${path}`} differ`,
      );
      continue;
    }
    const ops = diffLines(lines(before), lines(after));
    if (!ops.some((o) => o.kind !== ' ')) continue;
    writer.meta(`--- ${c.kind === 'added' ? '/dev/null' : `a/${from}`}`);
    writer.meta(`+++ ${c.kind === 'deleted' ? '/dev/null' : `b/${path}`}`);
    for (const hunk of hunks(ops)) {
      writer.meta(hunk.header, '36');
      for (const op of hunk.body) writer.content(op.kind, op.line);
    }
  }
}
