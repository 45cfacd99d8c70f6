// Who is on the other end of a connection, and what they may do. Identity comes from the
// kernel (SO_PEERCRED), never from anything the client says. Roles: the server's own user is
// the owner (admin); operators may type and resize; observers only watch; as configured by
// the owner in the [server] table, per user or per group (group database membership, not the
// peer's process groups). Agent users are never admitted, even when configured.
import { AuError } from '../errors.js';
import { spawnSync } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Config } from '../config/schema.js';
import { loadNative } from '../run/native.js';

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
export function peerOf(socket: Socket): Peer {
  const native = loadNative();
  if (!native) throw new AuthError('the native addon (au_native.node) is missing: cannot read peer credentials');
  const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new AuthError('cannot read the connection file descriptor');
  const credentials = native.peerCredentials(fd);
  return { ...credentials, user: userNameOf(credentials.uid) ?? `uid ${credentials.uid}` };
}

function getent(args: string[]): string | undefined {
  const r = spawnSync('getent', args, { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout : undefined;
}

export function userNameOf(uid: number): string | undefined {
  return getent(['passwd', String(uid)])?.split(':')[0];
}

/** Names of the groups the user belongs to in the group database (primary included). */
export function groupsOf(user: string): string[] {
  const r = spawnSync('id', ['-Gn', '--', user], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout.trim().split(/\s+/).filter(Boolean) : [];
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
  const uids = new Set<number>();
  for (const agent of config.agents) {
    if (agent.uid !== undefined) uids.add(agent.uid);
    const line = getent(['passwd', agent.userName]);
    const uid = line ? Number(line.split(':')[2]) : NaN;
    if (Number.isInteger(uid)) uids.add(uid);
  }
  return uids;
}

export interface Decision {
  role?: Role;
  reason: string;
}

export function decideRole(peer: Peer, ownerUid: number, config: Config, groupsOfUser: (user: string) => string[] = groupsOf): Decision {
  if (agentUidsOf(config).has(peer.uid)) return { reason: `${peer.user} is an agent user: agents are never admitted` };
  if (peer.uid === ownerUid) return { role: 'owner', reason: 'server owner' };
  const roles = serverRolesOf(config);
  const groups = peer.user.startsWith('uid ') ? [] : groupsOfUser(peer.user);
  const matches = (entries: string[]): boolean =>
    entries.some((entry) => (entry.startsWith('@') ? groups.includes(entry.slice(1)) : entry === peer.user));
  if (matches(roles.operators)) return { role: 'operator', reason: 'configured operator' };
  if (matches(roles.observers)) return { role: 'observer', reason: 'configured observer' };
  return { reason: `${peer.user} is not configured as an operator or observer of this server` };
}
