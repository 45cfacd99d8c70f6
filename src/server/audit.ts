// The audit log: JSON Lines, one file per day, each event written and fdatasync'd as it
// happens (a crash loses nothing already reported), owned by the human, mode 0600.
import { closeSync, fdatasyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { auditPath } from './paths.js';

export type AuditEvent =
  | { event: 'server-start'; pid: number; socket: string; user: string }
  | { event: 'server-stop'; pid: number; reason: string }
  | { event: 'start'; session: string; owner: string; agent: string; command: string[]; pid: number }
  | { event: 'join'; session: string; user: string; uid: number; role: string }
  | { event: 'leave'; session: string; user: string; uid: number; role: string; reason: string }
  | { event: 'input'; session: string; user: string; bytes: number; data: string }
  | { event: 'input-refused'; session: string; user: string; bytes: number; reason: string }
  | { event: 'resize'; session: string; user: string; cols: number; rows: number }
  | { event: 'kill'; session: string; by: string }
  | { event: 'end'; session: string; exitCode: number; durationMs: number; reason: string }
  | { event: 'refused'; uid: number; pid: number; user: string; reason: string }
  | { event: 'protocol-error'; uid: number; user: string; reason: string }
  | { event: 'web-start'; url: string; host: string; port: number }
  | { event: 'web-refused'; remote: string; path: string; status: number; reason: string };

/** Bytes as text: printable ASCII as is, everything else (and backslash) as \xNN. */
export function escapeBytes(data: Buffer): string {
  let out = '';
  for (const byte of data) {
    if (byte >= 0x20 && byte < 0x7f && byte !== 0x5c) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export class AuditLog {
  private fd: number | undefined;
  private path: string | undefined;

  constructor(private readonly pathFor: (date: Date) => string = (date) => auditPath(date)) {}

  record(event: AuditEvent): void {
    const now = new Date();
    const path = this.pathFor(now);
    if (path !== this.path) {
      if (this.fd !== undefined) closeSync(this.fd);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      this.fd = openSync(path, 'a', 0o600);
      this.path = path;
    }
    writeSync(this.fd!, `${JSON.stringify({ time: now.toISOString(), ...event })}\n`);
    fdatasyncSync(this.fd!);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.path = undefined;
  }
}
