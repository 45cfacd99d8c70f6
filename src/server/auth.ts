// Who is on the other end of a connection, and what they may do. Identity comes from the
// kernel (SO_PEERCRED), never from anything the client says. Roles: the server's own user is
// the owner (admin); operators may type and resize; observers only watch; as configured by
// the owner in the [server] table, per user or per group (group database membership, not the
// peer's process groups). Agent users are never admitted, even when configured.
import { AuError } from '../errors.js';
import { execFile, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Config } from '../config/schema.js';
import { loadNative } from '../system/native.js';

export type Role = 'owner' | 'operator' | 'observer';

export interface Peer {
  pid: number;
  uid: number;
  gid: number;
  /** User name from the passwd database, or `uid N` when it has none. */
  user: string;
}

export class AuthError extends AuError {}

/** The kernel's record of who connected (SO_PEERCRED) on an accepted Unix socket. */
export function peerCredentialsOf(socket: Socket): { pid: number; uid: number; gid: number } {
  const native = loadNative();
  if (!native) throw new AuthError('the native addon (au_native.node) is missing: cannot read peer credentials');
  const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new AuthError('cannot read the connection file descriptor');
  return native.peerCredentials(fd);
}

/** The peer with its user name (looked up without blocking the server). */
export async function namedPeer(credentials: { pid: number; uid: number; gid: number }): Promise<Peer> {
  const line = await lookup(['getent', 'passwd', String(credentials.uid)]);
  return { ...credentials, user: line?.split(':')[0] || `uid ${credentials.uid}` };
}

/**
 * Answers of the user and group databases (getent, id), cached: a flood of connections must not
 * cost a process each, and the server's one thread never waits for one on a connection (the
 * lookups run asynchronously). Dropped when /etc/passwd or /etc/group changes, and after
 * LOOKUP_TTL_MS at most (for users from LDAP/sssd, whose changes no local file shows).
 */
const LOOKUP_TTL_MS = 30_000;
const MAX_CACHED = 4096;
const answers = new Map<string, string | undefined>();
const pending = new Map<string, Promise<string | undefined>>();
let lookupStamp = '';
let lookupsSince = 0;

function databaseStamp(files: readonly string[] = ['/etc/passwd', '/etc/group']): string {
  return files
    .map((file) => {
      try {
        // The ctime too: an in-place edit of the same size with the mtime put back still moves it.
        const st = statSync(file, { bigint: true });
        return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      } catch {
        return '-';
      }
    })
    .join('/');
}

function dropStaleAnswers(): void {
  const stamp = databaseStamp();
  const now = Date.now();
  if (stamp !== lookupStamp || now - lookupsSince > LOOKUP_TTL_MS || answers.size > MAX_CACHED) {
    answers.clear();
    lookupStamp = stamp;
    lookupsSince = now;
  }
}

/** The command's output (cached), or undefined when it fails. */
function lookup(argv: readonly string[]): Promise<string | undefined> {
  dropStaleAnswers();
  const key = argv.join('\0');
  if (answers.has(key)) return Promise.resolve(answers.get(key));
  let answer = pending.get(key);
  if (!answer) {
    const [command, ...args] = argv as [string, ...string[]];
    answer = new Promise((resolve) => {
      execFile(command, args, { encoding: 'utf8', timeout: 5000 }, (error, stdout) => {
        pending.delete(key);
        const value = error ? undefined : stdout;
        // A lookup that timed out says nothing about the user: not kept.
        if (!error || !error.killed) answers.set(key, value);
        resolve(value);
      });
    });
    pending.set(key, answer);
  }
  return answer;
}

/** The same, waiting (for the few places that must decide synchronously: start-up, a new session). */
function lookupNow(argv: readonly string[]): string | undefined {
  dropStaleAnswers();
  const key = argv.join('\0');
  if (answers.has(key)) return answers.get(key);
  const [command, ...args] = argv as [string, ...string[]];
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 });
  const value = r.status === 0 ? r.stdout : undefined;
  if (!r.error) answers.set(key, value);
  return value;
}

/**
 * What roles are decided on: the config file (followed if a symlink), the user and group files,
 * and the lookup cache's period (for users from LDAP/sssd, whose changes no local file shows).
 * A connection decided on another stamp than the current one is decided again.
 */
export function rolesStamp(configPath: string): string {
  return `${databaseStamp([configPath, '/etc/passwd', '/etc/group'])}/${Math.floor(Date.now() / LOOKUP_TTL_MS)}`;
}

/** The user name of `uid` if a lookup already found it (no lookup: for refusals at accept). */
export function knownUserName(uid: number): string | undefined {
  return answers.get(['getent', 'passwd', String(uid)].join('\0'))?.split(':')[0] || undefined;
}

export function userNameOf(uid: number): string | undefined {
  return lookupNow(['getent', 'passwd', String(uid)])?.split(':')[0];
}

/** Names of the groups the user belongs to in the group database (primary included). */
export async function groupsOf(user: string): Promise<string[]> {
  return (await lookup(['id', '-Gn', '--', user]))?.trim().split(/\s+/).filter(Boolean) ?? [];
}

export interface ServerRoles {
  /** Entries are user names or @group names. */
  operators: string[];
  observers: string[];
}

/** The [server] table of the config (kept with the unknown keys; absent means nobody else). */
export function serverRolesOf(config: Config): ServerRoles {
  const table = config.extra.server;
  const list = (key: string): string[] => {
    if (typeof table !== 'object' || table === null) return [];
    const value = (table as Record<string, unknown>)[key];
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  };
  return { operators: list('operators'), observers: list('observers') };
}

/** Every agent uid the owner has (from the config, and from the passwd database by name). */
export function agentUidsOf(config: Config): Set<number> {
  return agentUidsFrom(
    config,
    config.agents.map((agent) => lookupNow(['getent', 'passwd', agent.userName])),
  );
}

async function agentUidsOfAsync(config: Config): Promise<Set<number>> {
  return agentUidsFrom(config, await Promise.all(config.agents.map((agent) => lookup(['getent', 'passwd', agent.userName]))));
}

function agentUidsFrom(config: Config, passwdLines: (string | undefined)[]): Set<number> {
  const uids = new Set<number>();
  config.agents.forEach((agent, i) => {
    if (agent.uid !== undefined) uids.add(agent.uid);
    const line = passwdLines[i];
    const uid = line ? Number(line.split(':')[2]) : NaN;
    if (Number.isInteger(uid)) uids.add(uid);
  });
  return uids;
}

export interface Decision {
  role?: Role;
  reason: string;
}

export async function decideRole(
  peer: Peer,
  ownerUid: number,
  config: Config,
  groupsOfUser: (user: string) => Promise<string[]> | string[] = groupsOf,
): Promise<Decision> {
  if ((await agentUidsOfAsync(config)).has(peer.uid)) return { reason: `${peer.user} is an agent user: agents are never admitted` };
  if (peer.uid === ownerUid) return { role: 'owner', reason: 'server owner' };
  const roles = serverRolesOf(config);
  const groups = peer.user.startsWith('uid ') ? [] : await groupsOfUser(peer.user);
  const matches = (entries: string[]): boolean =>
    entries.some((entry) => (entry.startsWith('@') ? groups.includes(entry.slice(1)) : entry === peer.user));
  if (matches(roles.operators)) return { role: 'operator', reason: 'configured operator' };
  if (matches(roles.observers)) return { role: 'observer', reason: 'configured observer' };
  return { reason: `${peer.user} is not configured as an operator or observer of this server` };
}
