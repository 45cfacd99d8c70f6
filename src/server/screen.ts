// The session's current screen, kept in a headless terminal so that a late joiner sees it at
// once. The agent's output is hostile input to this terminal (xterm.js trusts its input: one
// 22-byte sequence makes it allocate 40 GB), so it only ever sees what ScreenGuard passes:
// whole tokens, counts clamped to the screen, a few combining marks per cell, no strings.
// The model must never slow the agent nor the server: xterm parses about 10 MB/s, and shares
// the server's one thread with every session's relay. So output is parsed in batches, every
// PARSE_INTERVAL_MS, synchronously and in slices of bounded work, at most PARSE_BUDGET_MS per
// batch (and all models together at most SHARED_BUDGET_MS per SHARED_WINDOW_MS); when more than SKIP_TAIL bytes wait, only their last SKIP_TAIL bytes are parsed (the
// screen a joiner then gets is rebuilt from that tail: exact for line output, approximate only
// for a full-screen program that redraws less than that). A failure inside the terminal costs
// only this model: it is replaced by a blank one and the session goes on.
//
// Memory: scrollback 0, at most 1000x1000 cells (the protocol's bound) in two buffers, each
// cell at most 1 + MAX_MARKS_PER_CELL code points, no OSC/DCS data; plus RECENT_BYTES and
// 2 * SKIP_TAIL of raw output. A joiner's snapshot is at most SNAPSHOT_BYTES (else degraded).
// Both are CommonJS packages whose exports Node's ESM loader cannot name statically.
import xtermHeadless from '@xterm/headless';
import xtermSerialize from '@xterm/addon-serialize';
import xtermUnicode11 from '@xterm/addon-unicode11';
import { ScreenGuard } from './screen-guard.js';

const { Terminal } = xtermHeadless;
const { SerializeAddon } = xtermSerialize;
const { Unicode11Addon } = xtermUnicode11;
type Terminal = InstanceType<typeof Terminal>;
type SerializeAddon = InstanceType<typeof SerializeAddon>;

const PARSE_INTERVAL_MS = 25;
/** After a batch that had to be cut to its tail or left work over (a flood), wait longer before the next one. */
const FLOOD_PARSE_INTERVAL_MS = 100;
/** Time one batch may take; the rest waits for the next batch. */
const PARSE_BUDGET_MS = 8;
/** All models together parse at most SHARED_BUDGET_MS per SHARED_WINDOW_MS: many hostile sessions cannot take the server's thread either. */
const SHARED_BUDGET_MS = 40;
const SHARED_WINDOW_MS = 100;
const shared = { windowStart: 0, spent: 0 };
/** What a model that is not flooded may parse per batch even when the shared budget is spent. */
const QUIET_BUDGET_MS = 1;
function sharedBudgetLeft(now: number): number {
  if (now - shared.windowStart >= SHARED_WINDOW_MS) {
    shared.windowStart = now;
    shared.spent = 0;
  }
  return SHARED_BUDGET_MS - shared.spent;
}
/** Estimated cells of work per slice handed to the terminal (a few ms at worst). */
const SLICE_WORK = 20_000;
/**
 * Input bytes per slice, whatever their estimate: the clock is read after each slice, so a
 * token the estimate underprices can overrun the budget by one small slice at most.
 */
const SLICE_BYTES = 2048;
const SKIP_TAIL = 64 * 1024;
/** Recent raw output, so a joiner gets exactly the bytes after the snapshot it was sent. */
const RECENT_BYTES = 1024 * 1024;
/** The most a snapshot (screen and following bytes) may be: a joiner's queue holds 4 MB. */
export const SNAPSHOT_BYTES = 1024 * 1024;
/**
 * Drawing a screen is outside any parse budget (serializing 1000x1000 attributed cells takes
 * a second, its text a few hundred ms), so a model draws at most once per SNAPSHOT_REUSE_MS:
 * a joiner in between gets the last drawing and the raw bytes that followed it (exact, as
 * long as those are still held), and observers joining in a loop cost one drawing a second.
 */
const SNAPSHOT_REUSE_MS = 1000;
/** Above this many cells the screen is sent as text only (serializing attributes costs ~4x more). */
const FULL_SNAPSHOT_CELLS = 250_000;

interface Drawing {
  screen: string;
  kind: Snapshot['kind'];
  /** Stream offset the drawing reflects. */
  offset: number;
  drawnAt: number;
}

export interface Snapshot {
  /** Escape sequences that redraw the screen on a clean terminal. */
  screen: string;
  /** Raw output that followed the snapshot, to send before live output. */
  follow: Buffer;
  /** How the screen was drawn: in full, as plain text (too large with attributes), or not at all (too large). */
  kind: 'full' | 'text' | 'blank';
}

/** The last `limit` bytes of a stream (whole chunks; at least `limit` when that much came). */
class StreamTail {
  private chunks: Buffer[] = [];
  private head = 0;
  private held = 0;
  /** Stream offset of the first byte held. */
  private start = 0;
  /** Whether bytes were dropped since the last take(). */
  dropped = false;

  constructor(private readonly limit: number) {}

  get bytes(): number {
    return this.held;
  }

  append(data: Buffer): void {
    this.chunks.push(data);
    this.held += data.length;
    while (this.chunks.length - this.head > 1 && this.held - this.chunks[this.head]!.length >= this.limit) {
      const dropped = this.chunks[this.head++]!;
      this.held -= dropped.length;
      this.start += dropped.length;
      this.dropped = true;
    }
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** Whether every byte from stream offset `from` on is still held. */
  holds(from: number): boolean {
    return from >= this.start;
  }

  /** Bytes from stream offset `from` to the end (from the oldest held if `from` is older). */
  since(from: number): Buffer {
    const all = Buffer.concat(this.chunks.slice(this.head));
    return all.subarray(Math.max(0, from - this.start));
  }

  /** Everything held, and forget it (the stream offset goes on). */
  take(): Buffer {
    const all = this.since(this.start);
    this.start += this.held;
    this.chunks = [];
    this.head = 0;
    this.held = 0;
    this.dropped = false;
    return all;
  }
}

/** xterm.js's synchronous parser entry (an internal of @xterm/headless 6: a unit test fails when it changes). */
type Parse = (data: Uint8Array) => unknown;
function parserOf(terminal: Terminal): Parse {
  const handler = (terminal as unknown as { _core?: { _inputHandler?: { parse?: unknown } } })._core?._inputHandler;
  if (!handler || typeof handler.parse !== 'function')
    throw new Error('@xterm/headless has no synchronous parser where au expects it (_core._inputHandler.parse)');
  const parse = handler.parse as (this: unknown, data: Uint8Array) => unknown;
  return (data) => parse.call(handler, data);
}

export class ScreenModel {
  private terminal!: Terminal;
  private serializer!: SerializeAddon;
  private parseNow!: Parse;
  private readonly guard: ScreenGuard;
  private readonly recent = new StreamTail(RECENT_BYTES);
  /** Stream offsets: bytes received from the agent, bytes reflected in the terminal. */
  private received = 0;
  private parsed = 0;
  /** Output not handed to the guard yet: only its tail is kept. */
  private readonly pending = new StreamTail(SKIP_TAIL);
  /** Output taken from `pending` that the last batch had no time for. */
  private leftover: Buffer = Buffer.alloc(0);
  private flushTimer: NodeJS.Timeout | undefined;
  private flooded = false;
  private disposed = false;
  /** The last screen drawn for a joiner (reset when the terminal changes size or is replaced). */
  private drawing: Drawing | undefined;
  /** How often the terminal failed and was replaced (status, tests). */
  failures = 0;
  /** Called when the terminal failed and was replaced. */
  onFailure: ((error: unknown) => void) | undefined;

  constructor(
    private cols: number,
    private rows: number,
  ) {
    this.guard = new ScreenGuard(cols, rows);
    this.createTerminal();
  }

  private createTerminal(): void {
    this.terminal = new Terminal({ cols: this.cols, rows: this.rows, scrollback: 0, allowProposedApi: true, logLevel: 'off' });
    this.serializer = new SerializeAddon();
    this.terminal.loadAddon(this.serializer);
    // The widths the web page uses (emoji take two cells): a joiner's screen lines up with it.
    this.terminal.loadAddon(new Unicode11Addon());
    this.terminal.unicode.activeVersion = '11';
    this.parseNow = parserOf(this.terminal);
  }

  write(data: Buffer): void {
    if (this.disposed) return;
    this.received += data.length;
    this.recent.append(data);
    this.pending.append(data);
    this.flushTimer ??= setTimeout(() => this.flushSafely(), this.flooded ? FLOOD_PARSE_INTERVAL_MS : PARSE_INTERVAL_MS);
  }

  /** A batch that throws (whatever the cause) costs this model its state, never the server. */
  private flushSafely(): void {
    try {
      this.flush();
    } catch (error) {
      this.leftover = Buffer.alloc(0);
      this.parsed = this.received;
      this.pending.take();
      this.fail(error);
    }
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.disposed) return;
    const cut = this.pending.dropped;
    let data = Buffer.concat([cut ? Buffer.alloc(0) : this.leftover, this.pending.take()]);
    let start = this.received - data.length;
    if (data.length > 2 * SKIP_TAIL) {
      // Parsing falls behind the agent: only the recent tail matters.
      start += data.length - SKIP_TAIL;
      data = data.subarray(data.length - SKIP_TAIL);
    }
    // After a cut the guard starts afresh (the terminal is always between tokens).
    if (cut || start > this.parsed) this.guard.reset();
    // A model that kept up so far gets a small share even when the floods of others took the
    // shared budget: a quiet session's screen stays fresh (bounded: its batches are small).
    const consumed = this.parseWithin(data, PARSE_BUDGET_MS, this.flooded ? 0 : QUIET_BUDGET_MS);
    this.parsed = start + consumed;
    this.leftover = Buffer.from(data.subarray(consumed));
    this.flooded = cut || (this.leftover.length > 0 && (consumed > 0 || this.flooded));
    if (this.leftover.length > 0 || this.pending.bytes > 0) {
      this.flushTimer = setTimeout(() => this.flushSafely(), this.flooded ? FLOOD_PARSE_INTERVAL_MS : PARSE_INTERVAL_MS);
    }
  }

  /** Hands `data` to the terminal through the guard, in slices, until done or `budgetMs` passed; returns the bytes consumed. */
  private parseWithin(data: Buffer, budgetMs: number, floorMs: number): number {
    const started = performance.now();
    const budget = Math.min(budgetMs, Math.max(floorMs, sharedBudgetLeft(started)));
    let at = 0;
    while (at < data.length && budget > 0) {
      const { output, consumed } = this.guard.filter(data.subarray(at, at + SLICE_BYTES), SLICE_WORK);
      at += consumed;
      if (output.length > 0) {
        try {
          this.parseNow(output);
        } catch (error) {
          this.fail(error);
        }
      }
      if (performance.now() - started > budget) break;
    }
    shared.spent += performance.now() - started;
    return at;
  }

  /** The terminal threw: whatever state it is in, it is replaced by a blank one. */
  private fail(error: unknown): void {
    this.failures++;
    this.drawing = undefined;
    try {
      this.terminal.dispose();
    } catch {
      /* it is being replaced anyway */
    }
    this.createTerminal();
    this.guard.reset();
    try {
      this.onFailure?.(error);
    } catch {
      /* telling about it must not fail in turn */
    }
  }

  /** The last drawing and the bytes after it, if it is recent (or current) and those bytes are still held and fit. */
  private reuseDrawing(now: number): Snapshot | undefined {
    const d = this.drawing;
    if (!d || (d.offset !== this.parsed && now - d.drawnAt >= SNAPSHOT_REUSE_MS) || !this.recent.holds(d.offset)) return undefined;
    if (d.kind === 'blank') return { screen: d.screen, follow: Buffer.alloc(0), kind: 'blank' };
    const follow = this.recent.since(d.offset);
    if (Buffer.byteLength(d.screen) + follow.length > SNAPSHOT_BYTES) return undefined;
    return { screen: d.screen, follow, kind: d.kind };
  }

  private snapshotNow(): Snapshot {
    const now = performance.now();
    const reused = this.reuseDrawing(now);
    if (reused) return reused;
    const snapshot = this.draw();
    this.drawing = { screen: snapshot.screen, kind: snapshot.kind, offset: this.parsed, drawnAt: now };
    return snapshot;
  }

  private draw(): Snapshot {
    const follow = this.recent.since(this.parsed);
    // Clear the joiner's terminal and reset its attributes, then draw.
    const clear = '\x1b[0m\x1b[H\x1b[2J';
    const fits = (screen: string, extra: number): boolean => Buffer.byteLength(screen) + extra <= SNAPSHOT_BYTES;
    let full: string | undefined;
    if (this.cols * this.rows <= FULL_SNAPSHOT_CELLS) {
      try {
        full = `${clear}${this.serializer.serialize({ scrollback: 0 })}`;
      } catch (error) {
        this.fail(error);
      }
    }
    if (full !== undefined && fits(full, follow.length)) return { screen: full, follow, kind: 'full' };
    const text = `${clear}${this.rowsText()
      .map((row, y) => `\x1b[${y + 1};1H${row}`)
      .join('')}`;
    if (fits(text, 0)) return { screen: text, follow: fits(text, follow.length) ? follow : Buffer.alloc(0), kind: 'text' };
    return { screen: `${clear}(au: the screen is too large to send; live output follows)\r\n`, follow: Buffer.alloc(0), kind: 'blank' };
  }

  /** The screen as of now (what is still waiting is parsed first, within the batch budget), and the raw bytes that followed it. */
  snapshot(callback: (snapshot: Snapshot) => void): void {
    if (!this.disposed && (this.pending.bytes > 0 || this.leftover.length > 0)) {
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushSafely();
    }
    callback(this.snapshotNow());
  }

  /** Whether everything received is reflected in the terminal (tests). */
  get idle(): boolean {
    return this.parsed === this.received;
  }

  private rowsText(): string[] {
    const buffer = this.terminal.buffer.active;
    const lines: string[] = [];
    for (let y = 0; y < this.terminal.rows; y++) lines.push(buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '');
    return lines;
  }

  /** The visible text, one line per row (for tests and status). */
  text(): string {
    return this.rowsText().join('\n');
  }

  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    this.guard.resize(cols, rows);
    this.drawing = undefined;
    try {
      this.terminal.resize(cols, rows);
    } catch (error) {
      this.fail(error);
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.terminal.dispose();
  }
}
