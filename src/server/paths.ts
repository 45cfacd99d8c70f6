// Where the session server keeps things: all under the human's own directories (mode 0700),
// out of the agent's reach. The shared socket directory is the one `au server init` creates:
// root's, not writable by its group, with one directory per owner inside (the owner's alone,
// setgid to the sharing group), so that no other member can take an owner's socket name.
import { join } from 'node:path';
import { homeDirectory } from '../system/human.js';

export const SHARED_SOCKET_DIR = '/run/agent-as-unix-user';
export const DEFAULT_SHARING_GROUP = 'au-sessions';

/** $XDG_STATE_HOME/agent-as-unix-user (default ~/.local/state/agent-as-unix-user). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homeDirectory(), '.local', 'state');
  return join(base, 'agent-as-unix-user');
}

/** The private socket: in $XDG_RUNTIME_DIR when there is one, else in the state directory. */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && runtime.startsWith('/')) return join(runtime, 'agent-as-unix-user', 'server.sock');
  return join(stateDir(env), 'server.sock');
}

/** The directory of one owner in the shared socket directory (made by `au server init`). */
export const ownerSocketDir = (user: string, dir = SHARED_SOCKET_DIR): string => join(dir, user);

/** The socket a human's server listens on when shared with other humans (`--shared`). */
export const sharedSocketPath = (user: string, dir = SHARED_SOCKET_DIR): string => join(ownerSocketDir(user, dir), 'server.sock');

export const recordingsDir = (env?: NodeJS.ProcessEnv): string => join(stateDir(env), 'recordings');
/** `name` is YYYYMMDDTHHMMSS-ID (UTC start time and session id). */
export const recordingPath = (name: string, env?: NodeJS.ProcessEnv): string => join(recordingsDir(env), `${name}.cast`);

/** One audit file per day (UTC): audit-YYYY-MM-DD.jsonl. */
export const auditPath = (date: Date, env?: NodeJS.ProcessEnv): string =>
  join(stateDir(env), `audit-${date.toISOString().slice(0, 10)}.jsonl`);
