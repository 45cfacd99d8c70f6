// `au profile import NAME`: copy the human's chosen settings of an agent program into the
// agent's home. The files are read as the human (a tar stream) and written *as the agent*,
// through the entrypoint: whatever symlinks the agent planted in its home, the write can
// only land where the agent itself may write, never in the human's files.
import { existsSync } from 'node:fs';
import type { Profile } from './builtin.js';

export interface ImportPlan {
  /** Paths relative to the human's home that exist and will be copied. */
  present: string[];
  /** Configured paths the human does not have. */
  missing: string[];
}

export function planImport(profile: Profile, humanHome: string, withCredentials: boolean): ImportPlan {
  const wanted = [...profile.settingsFiles, ...(withCredentials ? profile.credentialFiles : [])];
  const present = wanted.filter((rel) => existsSync(`${humanHome}/${rel}`));
  return { present, missing: wanted.filter((rel) => !present.includes(rel)) };
}
