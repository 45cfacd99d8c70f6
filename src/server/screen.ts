// The session's current screen, kept in a headless terminal so that a late joiner sees it at
// once. The model must never slow the agent: xterm parses about 10 MB/s, and shares the
// server's one thread with the relay. So output is handed to it in batches, every
// PARSE_INTERVAL_MS, and when more than SKIP_TAIL bytes came in one interval only their last
// SKIP_TAIL bytes are parsed (the screen a joiner then gets is rebuilt from that tail: exact
// for line output, approximate only for a full-screen program that redraws less than that).
// Interactive output is always parsed whole. Memory is bounded by these constants.
// Both are CommonJS packages whose exports Node's ESM loader cannot name statically.
import xtermHeadless from '@xterm/headless';
import xtermSerialize from '@xterm/addon-serialize';

const { Terminal } = xtermHeadless;
const { SerializeAddon } = xtermSerialize;
type Terminal = InstanceType<typeof Terminal>;

const PARSE_INTERVAL_MS = 25;
/** After a batch that had to be cut to its tail (a flood), wait longer before the next one. */
const FLOOD_PARSE_INTERVAL_MS = 100;
const SKIP_TAIL = 64 * 1024;
/** Recent raw output, so a joiner gets exactly the bytes after the snapshot it was sent. */
const RECENT_BYTES = 1024 * 1024;

export interface Snapshot {
  /** Escape sequences that redraw the screen on a clean terminal. */
  screen: string;
  /** Raw output that followed the snapshot, to send before live output. */
  follow: Buffer;
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

export class ScreenModel {
  private readonly terminal: Terminal;
  private readonly serializer = new SerializeAddon();
  private readonly recent = new StreamTail(RECENT_BYTES);
  /** Stream offsets: bytes received from the agent, bytes reflected in the terminal. */
  private received = 0;
  private parsed = 0;
  private backlog = 0;
  /** Output not handed to the terminal yet: only its tail is kept. */
  private readonly pending = new StreamTail(SKIP_TAIL);
  private flushTimer: NodeJS.Timeout | undefined;
  private waiters: ((snapshot: Snapshot) => void)[] = [];

  constructor(cols: number, rows: number) {
    this.terminal = new Terminal({ cols, rows, scrollback: 0, allowProposedApi: true });
    this.terminal.loadAddon(this.serializer);
  }

  write(data: Buffer): void {
    this.received += data.length;
    this.recent.append(data);
    this.pending.append(data);
    this.scheduleFlush();
  }

  private flooded = false;

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => this.flush(), this.flooded ? FLOOD_PARSE_INTERVAL_MS : PARSE_INTERVAL_MS);
  }

  private flush(): void {
    this.flushTimer = undefined;
    // While the terminal is still parsing, its callback schedules the next flush.
    if (this.backlog > 0 || this.pending.bytes === 0) return;
    this.flooded = this.pending.dropped;
    this.parse(this.pending.take(), this.received);
  }

  private parse(data: Buffer, endOffset: number): void {
    this.backlog += data.length;
    this.terminal.write(data, () => {
      this.backlog -= data.length;
      this.parsed = endOffset;
      // The terminal now shows the stream up to `parsed`: a valid moment for a snapshot.
      this.serveWaiters();
      if (this.backlog === 0 && this.pending.bytes > 0) this.scheduleFlush();
    });
  }

  private serveWaiters(): void {
    if (this.waiters.length === 0) return;
    const snapshot = this.snapshotNow();
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter(snapshot);
  }

  private snapshotNow(): Snapshot {
    // Clear the joiner's terminal and reset its attributes, then draw.
    const screen = `\x1b[0m\x1b[H\x1b[2J${this.serializer.serialize({ scrollback: 0 })}`;
    return { screen, follow: this.recent.since(this.parsed) };
  }

  /** The screen as of the latest parsed output, and the raw bytes that followed it. */
  snapshot(callback: (snapshot: Snapshot) => void): void {
    if (this.backlog === 0 && this.pending.bytes === 0) callback(this.snapshotNow());
    else this.waiters.push(callback);
  }

  /** The visible text, one line per row (for tests and status). */
  text(): string {
    const buffer = this.terminal.buffer.active;
    const lines: string[] = [];
    for (let y = 0; y < this.terminal.rows; y++) lines.push(buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '');
    return lines.join('\n');
  }

  resize(cols: number, rows: number): void {
    this.terminal.resize(cols, rows);
  }

  dispose(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.waiters = [];
    this.terminal.dispose();
  }
}
