// Rewriting the config on its own inode, safely. The Python `au` locks the TOML file itself and
// keeps it open while it waits for that lock: replacing the file by rename would leave it
// reading and writing an inode nobody looks at any more (its update lost), would turn a
// symlinked config into a plain file and would lose the file's mode. So we write in place, and
// make that crash- and disk-full-safe with a journal beside the file:
//
//   1. the journal (old text, new text, checksum) is written and fsync'd, then its directory;
//      a failure here (ENOSPC) leaves the config untouched;
//   2. if the new text is longer, its tail is written past the old end first: that is where a
//      full disk or a file size limit strikes, and the old text is still whole (we cut the
//      tail off again and fail cleanly);
//   3. the rest is overwritten (blocks already allocated), the file cut to size and fsync'd;
//   4. the journal is removed.
//
// A kill between 1 and 4 leaves the journal: the next command (`recoverJournal`, under the
// lock) finishes the write if the file is still a byte mix of the old and the new text, drops
// the journal if the file is already the new text, and also drops it if someone else (the
// Python tool) has since written the file: their update is newer than ours.
import { lstatSync, closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync, constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fromSystemError } from '../errors.js';
import { lazyRequire } from '../system/lazy-require.js';

const MAGIC = 'au-config-journal 1';

export const journalPathFor = (realPath: string): string => join(dirname(realPath), `.${basename(realPath)}.au-journal`);

export function readAll(fd: number): Buffer {
  const size = fstatSync(fd).size;
  const chunks: Buffer[] = [];
  let position = 0;
  for (;;) {
    const chunk = Buffer.alloc(Math.max(size - position, 0) + 4096);
    const n = readSync(fd, chunk, 0, chunk.length, position);
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    position += n;
  }
  return Buffer.concat(chunks);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

// crypto is loaded at first use: `au run` reads the config and must start fast.
const checksum = (old: Buffer, next: Buffer): string =>
  (lazyRequire('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(old).update(next).digest('hex');

function writeJournal(journal: string, old: Buffer, next: Buffer): void {
  const header = Buffer.from(`${MAGIC} ${old.length} ${next.length} ${checksum(old, next)}\n`);
  // O_NOFOLLOW: never write through a symlink someone planted under the journal's name.
  const fd = openSync(journal, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, Buffer.concat([header, old, next]));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  fsyncDir(dirname(journal));
}

function removeJournal(journal: string): void {
  try {
    unlinkSync(journal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function writeAt(fd: number, data: Buffer, from: number, to: number): void {
  let done = from;
  while (done < to) done += writeSync(fd, data, done, to - done, done);
}

/** Overwrites the file behind `fd` (whose content is `old`) with `next`, journaled as above. */
export function writeInPlace(fd: number, path: string, old: Buffer, next: Buffer): void {
  const journal = journalPathFor(path);
  try {
    writeJournal(journal, old, next);
  } catch (error) {
    try {
      removeJournal(journal);
    } catch {
      // the journal's checksum marks a partial one as void anyway
    }
    throw fromSystemError(error, 'write the config journal', journal);
  }
  if (next.length > old.length) {
    try {
      writeAt(fd, next, old.length, next.length);
      fsyncSync(fd);
    } catch (error) {
      ftruncateSync(fd, old.length);
      removeJournal(journal);
      throw fromSystemError(error, 'write the config', path);
    }
  }
  try {
    writeAt(fd, next, 0, Math.min(old.length, next.length));
    if (next.length < old.length) ftruncateSync(fd, next.length);
    fsyncSync(fd);
  } catch (error) {
    // The journal stays: the next au command finishes this write.
    throw fromSystemError(error, 'write the config', path);
  }
  removeJournal(journal);
}

interface Journal {
  old: Buffer;
  next: Buffer;
}

function parseJournal(data: Buffer): Journal | undefined {
  const newline = data.indexOf(10);
  if (newline < 0) return undefined;
  const [magic, version, oldLength, nextLength, sum] = data.subarray(0, newline).toString('latin1').split(' ');
  if (`${magic} ${version}` !== MAGIC) return undefined;
  const start = newline + 1;
  const old = data.subarray(start, start + Number(oldLength));
  const next = data.subarray(start + Number(oldLength), start + Number(oldLength) + Number(nextLength));
  if (old.length !== Number(oldLength) || next.length !== Number(nextLength) || checksum(old, next) !== sum) return undefined;
  return { old, next };
}

/** True when every byte of `file` is the old or the new text's byte there: a write of ours cut short. */
function isTornWrite(file: Buffer, { old, next }: Journal): boolean {
  if (file.length < Math.min(old.length, next.length) || file.length > Math.max(old.length, next.length)) return false;
  for (let i = 0; i < file.length; i++) if (file[i] !== old[i] && file[i] !== next[i]) return false;
  return true;
}

export type Recovery = 'none' | 'finished' | 'superseded' | 'void';

/** Under the lock: completes or drops the journal a killed au left. `fd` is the config, open read-write. */
export function recoverJournal(fd: number, path: string): Recovery {
  const journal = journalPathFor(path);
  let data: Buffer;
  try {
    const journalFd = openSync(journal, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      data = readAll(journalFd);
    } finally {
      closeSync(journalFd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw fromSystemError(error, 'read the config journal', journal);
  }
  const parsed = parseJournal(data);
  if (!parsed) {
    // Killed while writing the journal: the config was not touched yet.
    removeJournal(journal);
    return 'void';
  }
  const file = readAll(fd);
  if (file.equals(parsed.next)) {
    removeJournal(journal);
    return 'finished';
  }
  if (!isTornWrite(file, parsed)) {
    removeJournal(journal);
    return 'superseded';
  }
  try {
    writeAt(fd, parsed.next, 0, parsed.next.length);
    ftruncateSync(fd, parsed.next.length);
    fsyncSync(fd);
  } catch (error) {
    throw fromSystemError(error, 'finish the interrupted write of the config', path);
  }
  removeJournal(journal);
  return 'finished';
}

export const hasJournal = (path: string): boolean => lstatSync(journalPathFor(path), { throwIfNoEntry: false }) !== undefined;
