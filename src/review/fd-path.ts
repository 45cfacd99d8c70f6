// Walking trees the agent wrote, by fd and without following any symlink: every name is looked
// up in a directory this process holds open (`/proc/self/fd/N/NAME`: the kernel resolves the
// fd itself, then NAME inside it), and a directory is only ever entered with
// O_DIRECTORY|O_NOFOLLOW, so a symlink planted anywhere, or swapped in between two steps, makes
// the open fail (ELOOP/ENOTDIR) instead of leading elsewhere. lstat, never stat.
import { type BigIntStats, closeSync, constants, fstatSync, lstatSync, openSync, readdirSync } from 'node:fs';

// libuv opens every fd close-on-exec: no program au starts inherits one.
const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** True for a name that is one component: not empty, no '/', no NUL, not '.' or '..'. */
export function isComponent(name: Buffer): boolean {
  if (name.length === 0 || name.includes(0x2f) || name.includes(0)) return false;
  return !(name.length <= 2 && name.every((b) => b === 0x2e));
}

/** The path that names NAME inside the open directory DIRFD. */
export function at(dirFd: number, name: Buffer): Buffer {
  if (!isComponent(name))
    throw Object.assign(new Error(`not a single path component: ${JSON.stringify(name.toString('latin1'))}`), { code: 'EINVAL' });
  return Buffer.concat([Buffer.from(`/proc/self/fd/${dirFd}/`), name]);
}

/** The open directory itself, as a path (for readdir). */
export const self = (dirFd: number): string => `/proc/self/fd/${dirFd}`;

export function openDirAt(dirFd: number, name: Buffer): number {
  return openSync(at(dirFd, name), DIR_FLAGS);
}

/** Opens a file (never a symlink, never blocking on a FIFO) for reading. */
export function openFileAt(dirFd: number, name: Buffer): number {
  return openSync(at(dirFd, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
}

/** Linux's O_PATH: names a directory the human may search but not read (REVIEW_ROOT is 0711). */
const O_PATH = 0o10000000;

/**
 * An absolute directory path opened from `/`, one component at a time, none a symlink: the
 * folders on the way with O_PATH (search permission is enough), the last one for reading.
 */
export function openDirNoFollow(path: string): number {
  const parts = path.split('/').filter((p) => p !== '');
  let fd = openSync('/', parts.length === 0 ? DIR_FLAGS : O_PATH | O_DIRECTORY | O_NOFOLLOW);
  try {
    parts.forEach((part, i) => {
      const next = openSync(at(fd, Buffer.from(part)), i === parts.length - 1 ? DIR_FLAGS : O_PATH | O_DIRECTORY | O_NOFOLLOW);
      closeSync(fd);
      fd = next;
    });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

export function lstatAt(dirFd: number, name: Buffer): BigIntStats | undefined {
  return lstatSync(at(dirFd, name), { bigint: true, throwIfNoEntry: false });
}

export const fstat = (fd: number): BigIntStats => fstatSync(fd, { bigint: true });

export function listDir(dirFd: number): Buffer[] {
  return readdirSync(self(dirFd), { encoding: 'buffer' });
}

/** Runs FN with the directory open, and closes it however FN ends. */
export function withDir<T>(fd: number, fn: (fd: number) => T): T {
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** An overlayfs whiteout: a character device 0/0. */
export const isWhiteout = (st: BigIntStats): boolean => st.isCharacterDevice() && st.rdev === 0n;
