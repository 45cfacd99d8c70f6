// Node has no flock(2). flock locks belong to the open file description, which a child
// inherits: so we open the lock file here and let util-linux `flock` take the lock on that
// same description through fd 3. When `flock` exits the lock stays ours until we close the fd.
import { closeSync, openSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { ConfigError } from './schema.js';

const WAIT_SECONDS = 30;

export function acquireExclusiveLock(lockPath: string): () => void {
  const fd = openSync(lockPath, 'a', 0o600);
  const child = spawnSync('flock', ['--exclusive', '--timeout', String(WAIT_SECONDS), '3'], {
    stdio: ['ignore', 'ignore', 'pipe', fd],
  });
  if (child.error || child.status !== 0) {
    closeSync(fd);
    const why = child.error ? child.error.message : `flock exited with ${child.status}`;
    throw new ConfigError(`cannot lock ${lockPath} (${why}); is another au running?`);
  }
  return () => closeSync(fd);
}
