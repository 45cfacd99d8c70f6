// Who is driving `au`: the invoking user. Never derived from environment variables the
// agent could have influenced; the passwd entry of the real uid is the truth.
import { loadNative } from './native.js';
import { lazyRequire } from './lazy-require.js';

export interface Human {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/**
 * The passwd entry, through the native addon when built: Node's os module (which reads the
 * same entry) costs a fraction of a millisecond to load on every `au run`.
 */
export function currentHuman(): Human {
  const entry = loadNative()?.passwd();
  if (entry) return entry;
  const { userInfo } = lazyRequire('node:os') as typeof import('node:os');
  const info = userInfo();
  return { name: info.username, uid: info.uid, gid: info.gid, home: info.homedir };
}

/**
 * os.homedir() without the os module: $HOME when absolute, else the passwd entry. An empty or
 * relative $HOME would put the config and state under the cwd (often a share the agent writes).
 */
export function homeDirectory(): string {
  const home = process.env.HOME;
  return home?.startsWith('/') ? home : currentHuman().home;
}
