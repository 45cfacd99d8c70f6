// Loading and saving the config file, `~/.config/agent-as-unix-user.toml`, which the Python `au`
// may be writing too. Writers lock both what the Python tool locks (flock on the TOML file
// itself) and what older au versions lock (flock on `<config>.lock`), re-read the file under
// the locks, and write it in place on the same inode (journaled: see in-place.ts) with only
// the changed lines rewritten (toml-edit.ts): comments, unknown keys, a symlink and the
// file's mode all survive. Readers take no lock: they check that the file did not change
// while they read it and that no write is half done (a journal), and else read under the lock.
import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  statSync,
  unlinkSync,
  constants,
  type BigIntStats,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse, stringify } from 'smol-toml';
import { AuError, fromSystemError } from '../errors.js';
import { type Config, ConfigError, configFromToml, configToToml, emptyConfig } from './schema.js';
import { flockFd } from './lock.js';
import { hasJournal, readAll, recoverJournal, writeInPlace } from './in-place.js';
import { editToml } from './toml-edit.js';
import { homeDirectory } from '../system/human.js';
import { stateDir } from '../server/paths.js';
import { bundleIdentity, parsedCacheKey, parsedCachePath, readParsedCache, writeParsedCache } from './parsed-cache.js';

export const defaultConfigPath = (): string => join(homeDirectory(), '.config', 'agent-as-unix-user.toml');

type Table = Record<string, unknown>;

function parseConfigText(text: string, path: string): Config {
  if (text.trim() === '') return emptyConfig();
  let data: Table;
  try {
    data = parse(text);
  } catch (error) {
    const { line, column } = error as { line?: number; column?: number };
    const first = (error as Error).message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
    const where = line === undefined ? path : `${path}:${line}${column === undefined ? '' : `:${column}`}`;
    throw new ConfigError(`config ${where} is not valid TOML: ${first}`, {
      operation: 'read the config',
      path,
      hint: `fix line ${line ?? '?'} of the file by hand`,
    });
  }
  try {
    return configFromToml(data);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`config ${path}: ${error.message}`, { operation: 'read the config', path });
    throw error;
  }
}

const sameFile = (a: BigIntStats, b: BigIntStats): boolean =>
  a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

/** The file a write must go to: the config itself, or the target of a symlinked config. */
function realTarget(path: string): string {
  const link = lstatSync(path, { throwIfNoEntry: false });
  if (!link?.isSymbolicLink()) return path;
  try {
    return realpathSync(path);
  } catch (error) {
    throw fromSystemError(error, 'follow the config symlink', path);
  }
}

/**
 * Refuses a config au must not write: a read-only file (the user made it so), and a symlink
 * whose target another user could swap or edit (a file not owned by us, or writable by group
 * or others, or in a directory others can write to).
 */
function checkWritable(path: string, real: string): void {
  const stats = statSync(real, { throwIfNoEntry: false });
  if (stats && (stats.mode & 0o200) === 0) {
    const mode = (stats.mode & 0o7777).toString(8).padStart(4, '0');
    throw new ConfigError(`config ${real} is read-only (mode ${mode}): au does not overwrite it`, {
      operation: 'write the config',
      path: real,
      hint: `make it writable (chmod u+w ${real}) or give au another file with -C`,
    });
  }
  if (real === path) return;
  const uid = process.geteuid?.() ?? 0;
  const unsafe = (what: string): never => {
    throw new ConfigError(`config ${path} is a symlink to ${real}, ${what}: au does not write through it`, {
      operation: 'write the config',
      path: real,
      hint: 'keep the config in a file only you can write (chmod go-w, chown), or give au another file with -C',
    });
  };
  if (stats && stats.uid !== uid) unsafe(`which belongs to uid ${stats.uid}`);
  if (stats && (stats.mode & 0o022) !== 0) unsafe('which others can write');
  const dir = statSync(dirname(real));
  if ((dir.uid !== uid && dir.uid !== 0) || (dir.mode & 0o022) !== 0) unsafe(`whose directory ${dirname(real)} others can write`);
}

/** Temp files from au versions that replaced the config by rename, left by a kill. Under the lock. */
function removeStaleTempFiles(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!/^\.\d+\.\d+\.agent-as-unix-user\.toml\.tmp$/.test(name)) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // someone else's leftover we may not remove: harmless
    }
  }
}

interface LockedConfig {
  fd: number;
  real: string;
  text: string;
  release(): void;
}

/** Opens the config read-write with both locks held, finishing any write a killed au left. */
function lockConfig(path: string): LockedConfig {
  const real = realTarget(path);
  checkWritable(path, real);
  try {
    mkdirSync(dirname(real), { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fromSystemError(error, 'create the config directory', dirname(real));
  }
  let sidecar: number;
  try {
    sidecar = openSync(`${path}.lock`, 'a', 0o600);
  } catch (error) {
    throw fromSystemError(error, 'open the config lock', `${path}.lock`);
  }
  let fd = -1;
  try {
    flockFd(sidecar, `${path}.lock`);
    for (let attempt = 0; ; attempt++) {
      try {
        fd = openSync(real, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
      } catch (error) {
        throw fromSystemError(error, 'open the config', real);
      }
      flockFd(fd, real);
      // Another tool may have replaced the file by rename while we waited: lock the new one.
      const now = statSync(real, { throwIfNoEntry: false });
      if (now && now.ino === fstatSync(fd).ino) break;
      closeSync(fd);
      fd = -1;
      if (attempt === 5)
        throw new AuError(`config ${real} keeps being replaced while au waits for its lock`, { operation: 'lock the config', path: real });
    }
    removeStaleTempFiles(dirname(path));
    const recovery = recoverJournal(fd, real);
    if (recovery === 'superseded')
      process.stderr.write(`au: note: an interrupted au update of ${real} was dropped: the file was written since\n`);
    const text = readAll(fd).toString('utf8');
    const lockedFd = fd;
    return {
      fd,
      real,
      text,
      release: () => {
        closeSync(lockedFd);
        closeSync(sidecar);
      },
    };
  } catch (error) {
    if (fd >= 0) closeSync(fd);
    closeSync(sidecar);
    throw error;
  }
}

/** Reads the config under a shared lock (or the write locks when a journal must be finished). */
function readLocked(path: string): Config {
  const real = realTarget(path);
  if (hasJournal(real)) {
    const locked = lockConfig(path);
    try {
      return parseConfigText(locked.text, locked.real);
    } finally {
      locked.release();
    }
  }
  const fd = openSync(real, 'r');
  try {
    flockFd(fd, real, 'shared');
    return parseConfigText(readAll(fd).toString('utf8'), real);
  } finally {
    closeSync(fd);
  }
}

/**
 * `reuseParsed` (au run): the parser's result for this very file state, kept in the human's
 * state directory, instead of parsing again (parsed-cache.ts says when that is safe).
 */
export function loadConfig(path: string, { reuseParsed = false }: { reuseParsed?: boolean } = {}): Config {
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !lstatSync(path, { throwIfNoEntry: false })) return emptyConfig();
      throw fromSystemError(error, 'read the config', path);
    }
    let text: string;
    let steady: boolean;
    let before: BigIntStats;
    try {
      before = fstatSync(fd, { bigint: true });
      text = readAll(fd).toString('utf8');
      steady = sameFile(before, fstatSync(fd, { bigint: true }));
    } catch (error) {
      throw fromSystemError(error, 'read the config', path);
    } finally {
      closeSync(fd);
    }
    if (!steady) continue;
    if (hasJournal(realTarget(path))) break;
    const code = reuseParsed ? bundleIdentity() : undefined;
    if (code === undefined) return parseConfigText(text, path);
    const key = parsedCacheKey(path, before, code);
    const cache = parsedCachePath(stateDir());
    const kept = readParsedCache(cache, key);
    if (kept) return kept;
    const config = parseConfigText(text, path);
    writeParsedCache(cache, key, config);
    return config;
  }
  return readLocked(path);
}

/** The whole file anew, for texts the line editor cannot update (comments are lost there). */
const freshText = (data: Table): string => stringify(data);

function nextText(text: string, before: Table, after: Table): string {
  const edited = text.trim() === '' ? undefined : editToml(text, before, after);
  if (edited !== undefined) {
    // Only an edit that reads back as exactly the new config is used.
    try {
      if (isDeepStrictEqual(configToToml(configFromToml(parse(edited))), after)) return edited;
    } catch {
      // fall through to a fresh file
    }
  }
  return freshText(after);
}

/**
 * Runs `change` on the current config under the locks and saves what it leaves when it calls
 * `save` (so a half-done operation keeps its record). An async `change` keeps the locks until
 * its promise settles. With dryRun nothing is written and nothing is locked.
 */
export function updateConfig<T>(path: string, dryRun: boolean, change: (config: Config, save: () => void) => T): T {
  if (dryRun) return change(loadConfig(path), () => {});
  const locked = lockConfig(path);
  let settled = false;
  const finish = (): void => {
    if (!settled) locked.release();
    settled = true;
  };
  try {
    const config = parseConfigText(locked.text, locked.real);
    let text = locked.text;
    let saved: Table = structuredClone(configToToml(config));
    const save = (): void => {
      if (settled) throw new AuError('internal: config saved after its lock was released', { operation: 'write the config', path });
      const data = configToToml(config);
      if (isDeepStrictEqual(data, saved)) return;
      const next = nextText(text, saved, data);
      writeInPlace(locked.fd, locked.real, Buffer.from(text), Buffer.from(next));
      text = next;
      saved = structuredClone(data);
    };
    const result = change(config, save);
    if (result instanceof Promise) return result.finally(finish) as T;
    finish();
    return result;
  } catch (error) {
    finish();
    throw error;
  }
}

/** Replaces the whole config (under the locks, in place). */
export function saveConfig(path: string, config: Config): void {
  updateConfig(path, false, (current, save) => {
    Object.assign(current, config);
    save();
  });
}
