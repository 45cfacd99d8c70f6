// Node has no flock(2). flock locks belong to the open file description, which a child
// inherits: so we open the file here and let util-linux `flock` take the lock on that same
// description through fd 3. When `flock` exits the lock stays ours until we close the fd.
import { lazyRequire } from '../system/lazy-require.js';
import { AuError } from '../errors.js';

const WAIT_SECONDS = 30;

/** Takes flock(2) on an fd we hold open; the lock lasts until that fd is closed. */
export function flockFd(fd: number, path: string, mode: 'exclusive' | 'shared' = 'exclusive'): void {
  // Loaded at first use: `au run` reads the config without a lock and must start fast.
  const { spawnSync } = lazyRequire('node:child_process') as typeof import('node:child_process');
  const child = spawnSync('flock', [`--${mode}`, '--timeout', String(WAIT_SECONDS), '3'], {
    stdio: ['ignore', 'ignore', 'pipe', fd],
  });
  if (child.error || child.status !== 0) {
    const why = child.error ? child.error.message : `still held after ${WAIT_SECONDS}s`;
    throw new AuError(`cannot lock ${path} (${why})`, {
      operation: 'lock the config',
      path,
      hint: 'another au (or the Python au) is holding it: let it finish, or find it with `fuser -v FILE`',
    });
  }
}
