// The clipboard filter au had before src/terminal/output-filter.ts (a byte match of ESC ] 5 2 ;),
// kept only as the reference of the relay benchmark (bench/relay.ts).
// The agent's output goes to the human's real terminal, and some terminals let a program write
// the clipboard with OSC 52 (ESC ] 52 ; ... BEL or ESC \). A hostile agent could plant a command
// there for the human to paste (THREAT-MODEL A19), so the relay drops those sequences. A
// sequence may be split across reads: the filter keeps the unfinished tail until it can decide.
const ESC = 0x1b;
const BEL = 0x07;
const OSC52 = Buffer.from('\u001b]52;');
/** Longest OSC 52 sequence we hold back before giving up on it (and dropping it). */
const MAX_SEQUENCE = 1 << 20;

export class ClipboardWriteFilter {
  private pending: Buffer = Buffer.alloc(0);
  private dropping = false;
  private dropped = 0;

  /** Bytes held back in case they start a clipboard write. */
  get holding(): boolean {
    return this.pending.length > 0 && !this.dropping;
  }

  /** Gives up waiting: the held bytes were not a clipboard write after all. */
  flush(): Buffer {
    if (this.dropping) return Buffer.alloc(0);
    const held = this.pending;
    this.pending = Buffer.alloc(0);
    return held;
  }

  /** Returns the bytes safe to show now. */
  push(chunk: Buffer): Buffer {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    const out: Buffer[] = [];
    while (data.length > 0) {
      if (this.dropping) {
        const end = terminatorEnd(data);
        if (end < 0) {
          this.dropped += data.length;
          // An ESC at the very end may start the ESC \ terminator: keep it.
          if (data[data.length - 1] === ESC) this.pending = data.subarray(data.length - 1);
          if (this.dropped > MAX_SEQUENCE) this.dropping = false;
          return Buffer.concat(out);
        }
        this.dropping = false;
        data = data.subarray(end);
        continue;
      }
      const start = data.indexOf(OSC52);
      if (start < 0) {
        const keep = partialPrefixLength(data);
        out.push(data.subarray(0, data.length - keep));
        this.pending = Buffer.from(data.subarray(data.length - keep));
        return Buffer.concat(out);
      }
      out.push(data.subarray(0, start));
      this.dropping = true;
      this.dropped = 0;
      data = data.subarray(start + OSC52.length);
    }
    return Buffer.concat(out);
  }
}

/** Index just after the first BEL or ESC \ in data, or -1. */
function terminatorEnd(data: Buffer): number {
  for (let i = 0; i < data.length; i++) {
    if (data[i] === BEL) return i + 1;
    if (data[i] === ESC && data[i + 1] === 0x5c) return i + 2;
  }
  return -1;
}

/** How many bytes at the end of data could be the start of an OSC 52 introducer. */
function partialPrefixLength(data: Buffer): number {
  for (let n = Math.min(OSC52.length - 1, data.length); n > 0; n--) {
    if (data.subarray(data.length - n).equals(OSC52.subarray(0, n))) return n;
  }
  return 0;
}

/**
 * Writes an output stream through the filter. Bytes held back because they might start a
 * clipboard write are shown after a short pause if nothing completes them.
 */
export class FilteredOutput {
  private readonly filter = new ClipboardWriteFilter();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sink: (data: Buffer) => void) {}

  write(chunk: Buffer): void {
    const safe = this.filter.push(chunk);
    if (safe.length > 0) this.sink(safe);
    clearTimeout(this.timer);
    if (this.filter.holding) this.timer = setTimeout(() => this.sink(this.filter.flush()), 20);
  }

  end(): void {
    clearTimeout(this.timer);
    const rest = this.filter.flush();
    if (rest.length > 0) this.sink(rest);
  }
}
