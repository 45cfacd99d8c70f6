// Every session is also recorded as an asciicast v2 file (the format `asciinema play` reads):
// a JSON header line, then one [seconds, "o", text] line per output chunk and
// [seconds, "r", "COLSxROWS"] per resize. Output is decoded as a UTF-8 stream so a character
// split across chunks is not mangled. Lines are written in batches (at most RECORDING_FLUSH_MS
// late, or RECORDING_BATCH_BYTES at a time): one write per PTY chunk would cost throughput.
import { AuError } from '../errors.js';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

const RECORDING_FLUSH_MS = 200;
const RECORDING_BATCH_BYTES = 256 * 1024;

export class Recording {
  private readonly fd: number;
  private batch: string[] = [];
  private batchBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly decoder = new StringDecoder('utf8');
  private readonly started = process.hrtime.bigint();
  private closed = false;

  constructor(path: string, header: { cols: number; rows: number; command: string; title: string }) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.fd = openSync(path, 'wx', 0o600);
    const line = {
      version: 2,
      width: header.cols,
      height: header.rows,
      timestamp: Math.floor(Date.now() / 1000),
      command: header.command,
      title: header.title,
      env: { TERM: 'xterm-256color', SHELL: '/bin/bash' },
    };
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
  }

  private seconds(): number {
    return Math.round(Number(process.hrtime.bigint() - this.started) / 1e3) / 1e6;
  }

  private add(line: string): void {
    this.batch.push(line);
    this.batchBytes += line.length;
    if (this.batchBytes >= RECORDING_BATCH_BYTES) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), RECORDING_FLUSH_MS);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.batch.length === 0) return;
    writeSync(this.fd, this.batch.join(''));
    this.batch = [];
    this.batchBytes = 0;
  }

  output(data: Buffer): void {
    if (this.closed) return;
    const text = this.decoder.write(data);
    if (text) this.add(`${JSON.stringify([this.seconds(), 'o', text])}\n`);
  }

  resize(cols: number, rows: number): void {
    if (!this.closed) this.add(`${JSON.stringify([this.seconds(), 'r', `${cols}x${rows}`])}\n`);
  }

  close(): void {
    if (this.closed) return;
    const rest = this.decoder.end();
    if (rest) this.batch.push(`${JSON.stringify([this.seconds(), 'o', rest])}\n`);
    this.flush();
    this.closed = true;
    closeSync(this.fd);
  }
}

export interface CastEvent {
  time: number;
  type: string;
  data: string;
}

export class RecordingError extends AuError {}

/** Reads an asciicast v2 file: the header and its events. */
export function readRecording(path: string): { header: Record<string, unknown>; events: CastEvent[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RecordingError(`cannot read recording ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const lines = text.split('\n').filter((line) => line !== '');
  const header = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  if (header.version !== 2) throw new RecordingError(`${path} is not an asciicast v2 file`);
  const events: CastEvent[] = [];
  for (const line of lines.slice(1)) {
    const [time, type, data] = JSON.parse(line) as [number, string, string];
    events.push({ time, type, data });
  }
  return { header, events };
}
