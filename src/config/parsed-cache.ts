// The config as the one parser (store.ts: smol-toml, then schema.ts) last read it, kept for
// `au run`: parsing is half a millisecond of every run's start-up, and the file rarely changes.
// It is the parser's own result, reused only for the very same file state and the very same
// au code, and only from a file that nobody but the human could have written:
//   - the key is the config file's dev, inode, size, mtime and ctime (ns; nobody can set a
//     ctime back without root) with the path it was opened by, and the dev/inode/size/mtime of
//     the au bundle that parsed it (a rebuilt or upgraded au parses again);
//   - the cache file is opened without following a symlink and must be a regular file of the
//     human's (the effective uid), with one link and no permission for group or others (with
//     an ACL that means an empty mask: no named entry grants anything), else it is ignored.
// Anything unexpected means "no cache": the config is parsed as without one.
import {
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from './schema.js';

const MAX_BYTES = 1024 * 1024;

export const parsedCachePath = (stateDir: string): string => join(stateDir, 'parsed-config.json');

/** What the cached value must have been parsed from (see the top of this file). */
export function parsedCacheKey(path: string, file: BigIntStats, code: string): string {
  return JSON.stringify([path, `${file.dev}:${file.ino}:${file.size}:${file.mtimeNs}:${file.ctimeNs}`, code]);
}

/** The au code that parses: the bundle this runs from (unbundled, as in tests: none, so no cache). */
export function bundleIdentity(): string | undefined {
  if (typeof __filename !== 'string' || !__filename.endsWith('.cjs')) return undefined;
  try {
    const fd = openSync(__filename, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const st = fstatSync(fd, { bigint: true });
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** The cached config for this key, or undefined (absent, another key, or a file the human alone could not have written). */
export function readParsedCache(cachePath: string, key: string): Config | undefined {
  let fd: number;
  try {
    fd = openSync(cachePath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.geteuid?.() || st.nlink !== 1 || (st.mode & 0o077) !== 0 || st.size > MAX_BYTES)
      return undefined;
    const buffer = Buffer.allocUnsafe(st.size);
    let length = 0;
    for (let n; length < buffer.length && (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0;) length += n;
    const entry = JSON.parse(buffer.toString('utf8', 0, length)) as { key?: unknown; config?: Config };
    return entry.key === key && entry.config ? entry.config : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Strings, finite numbers, booleans, null, plain arrays and objects: what JSON gives back as it was (an undefined property comes back absent). */
function plainJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(plainJson);
  if (typeof value !== 'object') return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  return Object.values(value).every((v) => v === undefined || plainJson(v));
}

/**
 * Keeps `config` for `key`: written to a fresh private file and renamed into place, so a reader
 * sees a whole entry or none. Only a config that JSON gives back as it is gets kept (a date
 * among unknown keys, say, does not: such a config is parsed every time). Best effort.
 */
export function writeParsedCache(cachePath: string, key: string, config: Config): void {
  if (!plainJson(config)) return;
  const text = JSON.stringify({ key, config });
  if (text.length > MAX_BYTES) return;
  const temporary = `${cachePath}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(cachePath), { recursive: true, mode: 0o700 });
    const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, cachePath);
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // never made, or already renamed
    }
  }
}
