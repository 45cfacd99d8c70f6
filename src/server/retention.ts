// How long the record is kept ([server] keep_days, default 30) and how large one recording may
// grow ([server] max_recording_mb, default 512), and the pruning of what is older: only files of
// the names the server writes (audit-YYYY-MM-DD.jsonl, recordings/*.cast), regular files of
// our own, never today's audit log or a recording still being written.
import { lstatSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../config/schema.js';
import { recordingsDir, stateDir } from './paths.js';

export const DEFAULT_KEEP_DAYS = 30;
export const DEFAULT_MAX_RECORDING_MB = 512;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface Retention {
  keepDays: number;
  maxRecordingBytes: number;
}

export function retentionOf(config: Config): Retention {
  const table = config.extra.server;
  const value = (key: string, fallback: number): number => {
    if (typeof table !== 'object' || table === null) return fallback;
    const v = (table as Record<string, unknown>)[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`server.${key} must be a positive number`);
    return v;
  };
  return {
    keepDays: value('keep_days', DEFAULT_KEEP_DAYS),
    maxRecordingBytes: Math.floor(value('max_recording_mb', DEFAULT_MAX_RECORDING_MB) * 1024 * 1024),
  };
}

const AUDIT_NAME = /^audit-(\d{4}-\d{2}-\d{2})\.jsonl$/;
const RECORDING_NAME = /^\d{8}T\d{6}-[A-Za-z0-9_-]+\.cast$/;

export interface RecordFile {
  path: string;
  bytes: number;
  /** When it was last written (audit logs: the end of their day). */
  time: number;
}

function ownFiles(dir: string, pattern: RegExp, uid: number): RecordFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const files: RecordFile[] = [];
  for (const name of names) {
    const match = pattern.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st?.isFile() || st.uid !== uid) continue;
    const day = match[1] ? Date.parse(`${match[1]}T00:00:00Z`) + DAY_MS : Number.NaN;
    files.push({ path, bytes: st.size, time: Number.isNaN(day) ? st.mtimeMs : Math.max(day, st.mtimeMs) });
  }
  return files;
}

/** Every file of the record: audit logs and recordings. */
export function recordFiles(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? -1): RecordFile[] {
  return [...ownFiles(stateDir(env), AUDIT_NAME, uid), ...ownFiles(recordingsDir(env), RECORDING_NAME, uid)];
}

/** What pruning would remove: last written more than `days` ago (so neither today's log nor a live recording). */
export function expiredRecords(files: readonly RecordFile[], days: number, now = Date.now()): RecordFile[] {
  return files.filter((file) => now - file.time > days * DAY_MS);
}

export function pruneRecords(days: number, env: NodeJS.ProcessEnv = process.env): RecordFile[] {
  const removed: RecordFile[] = [];
  for (const file of expiredRecords(recordFiles(env), days)) {
    try {
      unlinkSync(file.path);
      removed.push(file);
    } catch {
      /* gone already, or not ours to remove */
    }
  }
  return removed;
}
