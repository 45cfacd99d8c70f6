// The audit log: JSON Lines, one file per day, owned by the human, mode 0600, opened without
// following symlinks. Each event is written at once (a crash of the server loses nothing already
// reported) and synced in groups: fdatasync at most AUDIT_SYNC_MS later, off the event loop (a
// sync takes milliseconds, tens at times, and the server's one thread echoes keystrokes), and at
// once for the events that end something (a session's `end` is on disk before it is reported). Refusals go
// through a limiter (the untrusted side does not decide how fast the log grows). A write the disk
// does not take (ENOSPC, EIO, EFBIG) is counted, never half-written, never fatal: once writing
// works again a `gap` line says what was lost, since when, and why.
import { fdatasync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Gap, appendWhole, closeQuietly, syncQuietly } from './line-file.js';
import { auditPath } from './paths.js';
import { REFUSAL_LIMITS, type RefusalLimits, type RefusalSummaryLine, RefusalLimiter } from './refusals.js';
import { openOwnFile } from './safe-files.js';
import { LossFile } from './loss-file.js';

const AUDIT_SYNC_MS = 5;
/** Synced before record() returns. */
const SYNC_AT_ONCE: ReadonlySet<string> = new Set(['end', 'kill', 'server-start', 'server-stop', 'gap', 'record-incomplete']);

export type AuditEvent =
  | { event: 'server-start'; pid: number; socket: string; user: string }
  | { event: 'server-stop'; pid: number; reason: string }
  | { event: 'start'; session: string; owner: string; agent: string; command: string[]; pid: number }
  | { event: 'join'; session: string; user: string; uid: number; role: string }
  | { event: 'leave'; session: string; user: string; uid: number; role: string; reason: string }
  /** Joins and leaves of a user beyond the few written in full (presence.ts). */
  | { event: 'presence'; session: string; user: string; joins: number; leaves: number; since: string }
  | { event: 'input'; session: string; user: string; bytes: number; data: string }
  | { event: 'input-refused'; session: string; user: string; bytes: number; reason: string }
  | { event: 'resize'; session: string; user: string; cols: number; rows: number }
  | { event: 'kill'; session: string; by: string }
  | { event: 'end'; session: string; exitCode: number; durationMs: number; reason: string }
  | { event: 'refused'; uid: number; pid: number; user: string; reason: string }
  | { event: 'protocol-error'; uid: number; user: string; reason: string }
  /** A connected client's role changed with the config (`none`: it was disconnected). */
  | { event: 'role-change'; uid: number; user: string; session: string | null; from: string; to: string; reason: string }
  | { event: 'web-start'; url: string; host: string; port: number }
  | { event: 'web-refused'; remote: string; path: string; status: number; reason: string }
  | RefusalSummaryLine
  | { event: 'gap'; since: string; lost: number; bytes: number; events: Record<string, number>; error: string }
  | { event: 'record-incomplete'; session: string; recording: string; lostBytes: number; error: string }
  | { event: 'recording-capped'; session: string; recording: string; maxBytes: number };

/** Bytes as text: printable ASCII as is, everything else (and backslash) as \xNN. */
export function escapeBytes(data: Buffer): string {
  let out = '';
  for (const byte of data) {
    if (byte >= 0x20 && byte < 0x7f && byte !== 0x5c) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * One audit line as JSON that is printable ASCII only: JSON.stringify escapes C0 controls but
 * leaves DEL, the C1 controls (8-bit CSI, OSC...), U+2028/9 and every other non-ASCII character
 * as they are, and a human reads this file in a terminal (cat, jq, tail -f). Every string in an
 * event may come from the untrusted side (an Origin, a path, a reason, a user name), so
 * everything past 0x7e is written as \uXXXX (the same value to a JSON reader).
 */
export function auditJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What the audit log could not write (for `au sessions list`). */
export interface AuditLoss {
  /** Events lost since the server started (written or not, as gap markers). */
  lostEvents: number;
  /** Whether writing fails now (the loss is not marked in the file yet). */
  failing: boolean;
  error?: string;
}

export class AuditLog {
  private fd: number | undefined;
  private path: string | undefined;
  private gap: Gap | undefined;
  private lostEvents = 0;
  private syncTimer: NodeJS.Timeout | undefined;
  /** A background fdatasync is running (and another is wanted once it returns). */
  private syncRunning = false;
  private syncWanted = false;
  /** Descriptors given up while a background sync used them: closed when it returns (never reused under it). */
  private readonly closeAfterSync: number[] = [];
  private readonly refusals: RefusalLimiter;
  private lossFile: LossFile | undefined;

  constructor(
    private readonly pathFor: (date: Date) => string = (date) => auditPath(date),
    refusalLimits: RefusalLimits = REFUSAL_LIMITS,
  ) {
    this.refusals = new RefusalLimiter((line) => this.record(line), refusalLimits);
  }

  record(event: AuditEvent): void {
    const now = new Date();
    const line = `${auditJson({ time: now.toISOString(), ...event })}\n`;
    const failure = this.write(now, line);
    if (failure) {
      this.lostEvents++;
      (this.gap ??= new Gap(failure)).add(event.event, Buffer.byteLength(line), failure);
      this.lossFile?.save(this.gap);
      return;
    }
    if (SYNC_AT_ONCE.has(event.event)) this.sync();
    else this.syncTimer ??= setTimeout(() => this.syncInBackground(), AUDIT_SYNC_MS);
  }

  /**
   * A refusal from the untrusted side (`source`: a uid, a remote address): written in full while
   * the source is within its budget, else counted into a `refusals` line.
   */
  refused(source: string, event: Extract<AuditEvent, { event: 'refused' | 'web-refused' }>): void {
    const reason = event.event === 'web-refused' ? `${event.status} ${event.reason}` : event.reason;
    const kind = event.event === 'refused' ? 'uid' : 'address';
    if (this.refusals.admit(source, reason, kind, auditJson(event).length)) this.record(event);
  }

  /**
   * Keeps what could not be written in `path` too (loss-file.ts), so that a server stopped while
   * the disk is full does not take the loss with it; a loss a previous server left there is
   * marked by the next line this log writes.
   */
  keepLossIn(path: string): void {
    this.lossFile?.close();
    this.lossFile = LossFile.open(path);
    const previous = this.lossFile?.previous();
    if (!previous) return;
    this.lostEvents += previous.lines;
    if (this.gap) {
      this.gap.lines += previous.lines;
      this.gap.bytes += previous.bytes;
      for (const [kind, n] of previous.kinds) this.gap.kinds.set(kind, (this.gap.kinds.get(kind) ?? 0) + n);
    } else this.gap = previous;
    this.lossFile?.save(this.gap);
  }

  get loss(): AuditLoss {
    return { lostEvents: this.lostEvents, failing: this.gap !== undefined, error: this.gap?.error };
  }

  /** Writes `line` (after the gap marker, if writing failed before); the failure, if any. */
  private write(now: Date, line: string): string | undefined {
    const path = this.pathFor(now);
    if (path !== this.path || this.fd === undefined) {
      this.sync();
      this.release(this.fd);
      this.fd = undefined;
      this.path = path;
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        this.fd = openOwnFile(path, 'append', 0o600);
      } catch (error) {
        return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      }
    }
    const gap = this.gap;
    let text = line;
    if (gap) {
      const marker = {
        time: now.toISOString(),
        event: 'gap',
        since: gap.since.toISOString(),
        lost: gap.lines,
        bytes: gap.bytes,
        events: Object.fromEntries(gap.kinds),
        error: gap.error,
      };
      text = `${gap.fragment ? '\n' : ''}${auditJson(marker)}\n${line}`;
    }
    const failure = appendWhole(this.fd, text);
    if (!failure && gap) {
      this.gap = undefined;
      this.lossFile?.save(undefined);
      this.sync();
    }
    return failure;
  }

  /** Syncs what was written so far on the libuv thread pool; one at a time, the next one after it. */
  private syncInBackground(): void {
    this.syncTimer = undefined;
    const fd = this.fd;
    if (fd === undefined) return;
    if (this.syncRunning) {
      this.syncWanted = true;
      return;
    }
    this.syncRunning = true;
    fdatasync(fd, (error) => {
      this.syncRunning = false;
      if (error) this.gap ??= new Gap(`fdatasync: ${error.code ?? error.message}`);
      for (const old of this.closeAfterSync.splice(0)) closeQuietly(old);
      if (this.syncWanted) {
        this.syncWanted = false;
        this.syncTimer ??= setTimeout(() => this.syncInBackground(), AUDIT_SYNC_MS);
      }
    });
  }

  private release(fd: number | undefined): void {
    if (fd === undefined) return;
    if (this.syncRunning) this.closeAfterSync.push(fd);
    else closeQuietly(fd);
  }

  /** Syncs now, on this thread (before an `end` is reported, at a file change, at close). */
  private sync(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    if (this.fd === undefined) return;
    const failure = syncQuietly(this.fd);
    // What was written but not synced may be lost: say so once writing works (no lines counted).
    if (failure) this.gap ??= new Gap(`fdatasync: ${failure}`);
  }

  close(): void {
    this.refusals.flush();
    this.sync();
    this.release(this.fd);
    this.fd = undefined;
    this.path = undefined;
    this.lossFile?.close();
    this.lossFile = undefined;
  }
}
