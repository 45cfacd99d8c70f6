// What the audit log could not write survives the server: a full disk may last past the
// server's stop (whose own `server-stop` line is then lost too), and the next server must still
// say that something was lost. The counts go to a small file next to the socket (another
// filesystem than the state directory, usually), made at its full size when the server starts
// and then only overwritten in place: writing it needs no new block on the full disk. The next
// server reads it and writes the `gap` line once its audit takes lines again.
import { closeSync, fstatSync, ftruncateSync, readSync, writeSync } from 'node:fs';
import { Gap } from './line-file.js';
import { openOwnFile } from './safe-files.js';

const LOSS_FILE_BYTES = 1024;

interface SavedGap {
  since: string;
  lines: number;
  bytes: number;
  kinds: Record<string, number>;
  error: string;
}

export class LossFile {
  private constructor(private readonly fd: number) {}

  /** Opens (or makes, at its full size) the file; undefined when it cannot be (the loss is then kept in memory only). */
  static open(path: string): LossFile | undefined {
    try {
      const fd = openOwnFile(path, 'lock', 0o600);
      if (fstatSync(fd).size < LOSS_FILE_BYTES) {
        try {
          writeSync(fd, Buffer.alloc(LOSS_FILE_BYTES, 0x20), 0, LOSS_FILE_BYTES, 0);
        } catch {
          closeSync(fd);
          return undefined;
        }
      }
      return new LossFile(fd);
    } catch {
      return undefined;
    }
  }

  /** The gap a previous server could not write, if any. */
  previous(): Gap | undefined {
    try {
      const buffer = Buffer.alloc(LOSS_FILE_BYTES);
      const text = buffer
        .subarray(0, readSync(this.fd, buffer, 0, LOSS_FILE_BYTES, 0))
        .toString('utf8')
        .trim();
      if (!text) return undefined;
      const saved = JSON.parse(text) as Partial<SavedGap>;
      if (typeof saved.lines !== 'number' || typeof saved.since !== 'string') return undefined;
      const gap = new Gap(`${saved.error ?? '?'} (before the server stopped)`, new Date(saved.since));
      gap.lines = saved.lines;
      gap.bytes = Number(saved.bytes) || 0;
      for (const [kind, n] of Object.entries(saved.kinds ?? {})) if (typeof n === 'number') gap.kinds.set(kind.slice(0, 40), n);
      return gap;
    } catch {
      return undefined;
    }
  }

  /** Overwrites the file in place with `gap` (none: nothing is lost). Quietly: it is a fallback. */
  save(gap: Gap | undefined): void {
    const text = gap
      ? JSON.stringify({
          since: gap.since.toISOString(),
          lines: gap.lines,
          bytes: gap.bytes,
          kinds: Object.fromEntries([...gap.kinds].slice(0, 16)),
          error: gap.error.slice(0, 200),
        })
      : '';
    const data = Buffer.alloc(LOSS_FILE_BYTES, 0x20);
    data.write(text.slice(0, LOSS_FILE_BYTES), 0, 'utf8');
    try {
      writeSync(this.fd, data, 0, LOSS_FILE_BYTES, 0);
      ftruncateSync(this.fd, LOSS_FILE_BYTES);
    } catch {
      /* kept in memory; the audit says so while the server runs */
    }
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* ours */
    }
  }
}
