// Every session is also recorded as an asciicast v2 file (the format `asciinema play` reads):
// a JSON header line, then one [seconds, "o", text] line per output chunk and
// [seconds, "r", "COLSxROWS"] per resize, and at the end [seconds, "x", "CODE"] (the exit code;
// protocol/asciicast.ts reads them all). Output is decoded as a UTF-8 stream so a character
// split across chunks is not mangled. Lines are written in batches (at most RECORDING_FLUSH_MS
// late, or RECORDING_BATCH_BYTES at a time): one write per PTY chunk would cost throughput.
// A batch the disk does not take (ENOSPC, EIO, EFBIG) is dropped whole (never half a line), the
// session goes on, and once writing works again a marker event ([seconds, "m", "au: recording
// gap: ..."], asciicast's marker type) says how much output was lost and when.
import { mkdirSync, readFileSync } from 'node:fs';
import { AuError } from '../errors.js';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Gap, appendWhole, closeQuietly } from './line-file.js';
import { openOwnFile } from './safe-files.js';
import { type Cast, parseCast } from './protocol/asciicast.js';

const RECORDING_FLUSH_MS = 200;
const RECORDING_BATCH_BYTES = 256 * 1024;
export const GAP_MARKER_PREFIX = 'au: recording gap:';
export const CAP_MARKER_PREFIX = 'au: recording stopped:';

/** What the recording could not write. */
export interface RecordingLoss {
  /** Bytes of recording lines lost (output, resizes, the header). */
  lostBytes: number;
  /** Whether the loss is not marked in the file (yet, or ever: writing still failed at close). */
  unmarked: boolean;
  error?: string;
}

export class Recording {
  private fd: number | undefined;
  private header: string | undefined;
  private batch: string[] = [];
  private batchBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly decoder = new StringDecoder('utf8');
  private readonly started = process.hrtime.bigint();
  private closed = false;
  private gap: Gap | undefined;
  private gapStart = 0;
  private lostBytes = 0;
  private lastError: string | undefined;
  private writtenBytes = 0;
  private capped = false;
  /** Called once when the recording reaches its size cap and stops. */
  onCapped: (() => void) | undefined;

  constructor(
    private readonly path: string,
    header: { cols: number; rows: number; command: string; title: string },
    /** The size cap ([server] max_recording_mb): past it, a marker line and nothing more. */
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    const line = {
      version: 2,
      width: header.cols,
      height: header.rows,
      timestamp: Math.floor(Date.now() / 1000),
      command: header.command,
      title: header.title,
      env: { TERM: 'xterm-256color', SHELL: '/bin/bash' },
    };
    this.header = `${JSON.stringify(line)}\n`;
    this.open();
    this.flush();
  }

  /** A file of our own, new (never through a planted name); on a full disk, tried again at the next flush. */
  private open(): string | undefined {
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      this.fd = openOwnFile(this.path, 'create-new', 0o600);
      return undefined;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || !code) throw error;
      return code;
    }
  }

  private seconds(): number {
    return Math.round(Number(process.hrtime.bigint() - this.started) / 1e3) / 1e6;
  }

  private add(line: string): void {
    this.batch.push(line);
    this.batchBytes += Buffer.byteLength(line);
    if (this.batchBytes >= RECORDING_BATCH_BYTES) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), RECORDING_FLUSH_MS);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.batch.length === 0 && this.header === undefined && !this.gap) return;
    const lines = this.batch.join('');
    // Sizes in bytes (what the file holds and the disk did not take), never UTF-16 units.
    const linesBytes = Buffer.byteLength(lines);
    let text = `${this.header ?? ''}`;
    if (this.gap) {
      const now = this.seconds();
      const label = `${GAP_MARKER_PREFIX} ${this.gap.bytes} bytes (${this.gap.lines} writes) of the recording lost from ${this.gapStart.toFixed(3)} s to ${now.toFixed(3)} s (${this.gap.error})`;
      text += `${this.gap.fragment ? '\n' : ''}${JSON.stringify([now, 'm', label])}\n`;
    }
    if (this.writtenBytes + Buffer.byteLength(text) + linesBytes > this.maxBytes) {
      const label = `${CAP_MARKER_PREFIX} it reached its size cap of ${Math.round(this.maxBytes / 1024 / 1024)} MiB ([server] max_recording_mb); the session goes on unrecorded`;
      text += `${JSON.stringify([this.seconds(), 'm', label])}\n`;
      this.capped = true;
    } else text += lines;
    this.batch = [];
    this.batchBytes = 0;
    let failure: string | undefined;
    try {
      failure = this.fd === undefined ? (this.open() ?? appendWhole(this.fd!, text)) : appendWhole(this.fd, text);
    } catch (error) {
      failure = (error as Error).message; // a name that is not ours where the recording goes: nothing more is recorded
    }
    if (!failure) {
      this.writtenBytes += Buffer.byteLength(text);
      this.header = undefined;
      this.gap = undefined;
      if (this.capped) this.stop();
      return;
    }
    // Dropped whole; the header (if it is still unwritten) is tried again first next time.
    this.lastError = failure;
    this.lostBytes += linesBytes;
    if (!this.gap) this.gapStart = this.seconds();
    (this.gap ??= new Gap(failure)).add('batch', linesBytes, failure);
  }

  /** At the cap: nothing more is written (the file is closed; the session goes on). */
  private stop(): void {
    this.closed = true;
    closeQuietly(this.fd);
    this.fd = undefined;
    this.onCapped?.();
  }

  get reachedCap(): boolean {
    return this.capped;
  }

  output(data: Buffer): void {
    if (this.closed) return;
    const text = this.decoder.write(data);
    if (text) this.add(`${JSON.stringify([this.seconds(), 'o', text])}\n`);
  }

  resize(cols: number, rows: number): void {
    if (!this.closed) this.add(`${JSON.stringify([this.seconds(), 'r', `${cols}x${rows}`])}\n`);
  }

  get loss(): RecordingLoss {
    return { lostBytes: this.lostBytes, unmarked: this.gap !== undefined, error: this.lastError };
  }

  /** Ends the recording; with the session's exit code, as an exit event ("x"). */
  close(exitCode?: number): void {
    if (this.closed) return;
    const rest = this.decoder.end();
    if (rest) this.batch.push(`${JSON.stringify([this.seconds(), 'o', rest])}\n`);
    if (exitCode !== undefined) this.batch.push(`${JSON.stringify([this.seconds(), 'x', String(exitCode)])}\n`);
    this.flush();
    // Still failing: one last try to mark the gap alone (a small write may fit where a batch did not).
    if (this.gap) this.flush();
    this.closed = true;
    closeQuietly(this.fd);
    this.fd = undefined;
  }
}

export type { CastEvent } from './protocol/asciicast.js';

export class RecordingError extends AuError {}

/** Reads a recording file with the one asciicast reader (protocol/asciicast.ts). */
export function readRecording(path: string): Cast {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RecordingError(`cannot read recording ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    return parseCast(text);
  } catch (error) {
    throw new RecordingError(`${path}: ${(error as Error).message}`);
  }
}
