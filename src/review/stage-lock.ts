// The lock that keeps `au accept` / `au discard` and a run apart: the entrypoint holds a shared
// flock on STAGE for the whole run (the overlay must not see its upper layer change under it),
// and accept/discard take it exclusively, without waiting, or refuse.
import { closeSync } from 'node:fs';
import { AuError } from '../errors.js';
import { loadNative } from '../system/native.js';
import { openDirNoFollow } from './fd-path.js';

/** Takes STAGE's lock exclusively; returns its release. Throws when a run holds it. */
export function lockStage(stage: string, agentName = 'the agent'): () => void {
  const native = loadNative();
  if (!native) throw new AuError('cannot lock the staging directory: the native addon is not built (run npm run build)');
  const fd = openDirNoFollow(stage);
  let locked = false;
  try {
    locked = native.flock(fd, true);
  } finally {
    if (!locked) closeSync(fd);
  }
  if (!locked) throw new AuError(`a run of agent ${agentName} is using this share; wait for it to end`, { path: stage });
  return () => closeSync(fd);
}
