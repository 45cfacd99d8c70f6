// The server's own files (lock, pid file, audit log, recordings) are opened without following
// a symlink at the last component, and checked after opening (fstat of the fd: a regular file,
// ours, one link), so that nobody who could plant a name next to them (a colleague in a shared
// socket directory) makes the server write a file of the owner through a symlink or hard link.
import { AuError } from '../errors.js';
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';

export class UnsafeFileError extends AuError {}

// (libuv adds O_CLOEXEC to every open.)
const { O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDWR, O_WRONLY } = constants;

export type OpenMode = 'append' | 'create-new' | 'lock';

const FLAGS: Record<OpenMode, number> = {
  append: O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW,
  'create-new': O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW,
  lock: O_RDWR | O_CREAT | O_NOFOLLOW,
};

/** Why a file opened as ours is not acceptable, or undefined. */
export function problemOf(st: Stats, uid: number): string | undefined {
  if (!st.isFile()) return 'not a regular file';
  if (st.uid !== uid) return `owned by uid ${st.uid}, not by you (uid ${uid})`;
  if (st.nlink !== 1) return `it has ${st.nlink} hard links`;
  return undefined;
}

/** Opens (creating with `mode`) a file of the server; throws UnsafeFileError naming the path when it is not ours. */
export function openOwnFile(path: string, how: OpenMode, mode = 0o600, uid = process.getuid!()): number {
  let fd: number;
  try {
    fd = openSync(path, FLAGS[how], mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UnsafeFileError(`${path} is a symlink (planted by someone?): refusing to write through it; remove it`);
    throw error;
  }
  const problem = problemOf(fstatSync(fd), uid);
  if (problem) {
    closeSync(fd);
    throw new UnsafeFileError(`${path} is ${problem}: refusing to use it; remove it`);
  }
  return fd;
}

/** The directory itself, not a symlink to one: its lstat, or undefined when it does not exist. */
export function directoryStat(path: string): Stats | undefined {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!st.isDirectory())
    throw new UnsafeFileError(
      `${path} is not a directory (${st.isSymbolicLink() ? 'a symlink' : 'another kind of file'}): refusing to use it`,
    );
  return st;
}

/**
 * The pid in a server's pid file, or undefined (none, not a number, or not a regular file). Opened
 * without following a symlink and without blocking (a FIFO planted there would hang a plain read),
 * checked a regular file by fstat before a byte is read.
 */
export function readPidFileAt(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const buffer = Buffer.alloc(32);
    const text = buffer
      .subarray(0, readSync(fd, buffer, 0, buffer.length, 0))
      .toString('latin1')
      .trim();
    return /^\d{1,10}$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
