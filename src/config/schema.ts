// The config file is the seed's `~/.config/agent-as-unix-user.toml`: `[[agents]]` tables with
// user_name, su_as_agent_group, entrypoint, entrypoint_sha256, bootstrapped and
// `[[agents.mounts]]`. Keys we add (uid, gid, ...) are optional, and keys we do not know are
// kept as they were, so the seed's tool and ours can read each other's file.

import { AuError } from '../errors.js';
import { type Limits, LimitError, limitsFromToml, limitsToToml } from '../limits/limits.js';
import { type NetPolicy, NetPolicyError, netFromToml, netToToml } from '../net/policy.js';

export interface MountConfig {
  /** Absolute real path on the human's side, under the human's home. */
  source: string;
  /** Absolute path inside the agent's home where the source is bind-mounted. */
  target: string;
  readOnly: boolean;
  /**
   * Written before `mount add` sets ACLs ("add") and before `mount remove` revokes them
   * ("remove"), cleared once done: after a kill the record says what to finish.
   */
  pending?: 'add' | 'remove';
  /**
   * A review share (review/staging.ts): the key naming its staging directory. The agent writes
   * into an overlay whose changes are staged there; no ACL is ever set on its source.
   */
  review?: string;
}

export interface AgentConfig {
  userName: string;
  group: string;
  entrypoint: string;
  entrypointSha256: string;
  /** What the entrypoint was built from (entrypoint/build-stamp.ts); absent when not recorded (an older au). */
  entrypointBuild?: string;
  /** False while `au new` has not finished: the record lets `new` resume or `delete` undo. */
  bootstrapped: boolean;
  mounts: MountConfig[];
  /** Recorded at creation; `delete` refuses to touch a user whose uid differs. */
  uid?: number;
  gid?: number;
  groupGid?: number;
  /** Resource limits (`au limit`), applied by the entrypoint on every run. */
  limits?: Limits;
  /** Network policy (`au net`), checked in the kernel by the entrypoint on every run. */
  net?: NetPolicy;
  /** Keys of this agent's table we do not know, kept verbatim. */
  extra: Record<string, unknown>;
}

/**
 * An agent deleted without `-H`: its account is kept, locked, so that its uid (which still owns
 * its files) is never handed to another account. `au new` takes it back, `au delete -H` removes it.
 */
export interface KeptAccount {
  userName: string;
  uid: number;
  gid: number;
  group: string;
  groupGid?: number;
}

export interface Config {
  agents: AgentConfig[];
  kept: KeptAccount[];
  disableHomeAccessCheck: boolean;
  /** Top-level keys we do not know, kept verbatim. */
  extra: Record<string, unknown>;
}

export class ConfigError extends AuError {}

type Table = Record<string, unknown>;

const isTable = (value: unknown): value is Table =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);

function requireString(table: Table, key: string, where: string): string {
  const value = table[key];
  if (typeof value !== 'string') throw new ConfigError(`${where}: "${key}" must be a string`);
  return value;
}

function optionalInt(table: Table, key: string, where: string): number | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ConfigError(`${where}: "${key}" must be a non-negative integer`);
  }
  return value;
}

function without(table: Table, keys: readonly string[]): Table {
  return Object.fromEntries(Object.entries(table).filter(([key]) => !keys.includes(key)));
}

const AGENT_KEYS = [
  'user_name',
  'su_as_agent_group',
  'entrypoint',
  'entrypoint_sha256',
  'entrypoint_build',
  'bootstrapped',
  'mounts',
  'uid',
  'gid',
  'group_gid',
  'limits',
  'net',
] as const;

function parseLimits(value: unknown, where: string): Limits | undefined {
  return parseTable(() => limitsFromToml(value, where));
}

function parseTable<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof LimitError || error instanceof NetPolicyError) throw new ConfigError(error.message);
    throw error;
  }
}

function parseMount(value: unknown, where: string): MountConfig {
  if (!isTable(value)) throw new ConfigError(`${where}: a mount must be a table`);
  const readOnly = value.read_only ?? true;
  if (typeof readOnly !== 'boolean') throw new ConfigError(`${where}: "read_only" must be true or false`);
  const pending = value.pending;
  if (pending !== undefined && pending !== 'add' && pending !== 'remove')
    throw new ConfigError(`${where}: "pending" must be "add" or "remove"`);
  const review = value.review;
  if (review !== undefined && (typeof review !== 'string' || !/^[a-z0-9]{16}$/.test(review)))
    throw new ConfigError(`${where}: "review" must be 16 of [a-z0-9]`);
  return {
    source: requireString(value, 'source', where),
    target: requireString(value, 'target', where),
    readOnly,
    ...(pending ? { pending } : {}),
    ...(review ? { review } : {}),
  };
}

function parseAgent(value: unknown, index: number): AgentConfig {
  const where = `agents[${index}]`;
  if (!isTable(value)) throw new ConfigError(`${where} must be a table`);
  const mounts = value.mounts ?? [];
  if (!Array.isArray(mounts)) throw new ConfigError(`${where}: "mounts" must be an array of tables`);
  const bootstrapped = value.bootstrapped ?? false;
  if (typeof bootstrapped !== 'boolean') throw new ConfigError(`${where}: "bootstrapped" must be true or false`);
  return {
    userName: requireString(value, 'user_name', where),
    group: requireString(value, 'su_as_agent_group', where),
    entrypoint: requireString(value, 'entrypoint', where),
    entrypointSha256: typeof value.entrypoint_sha256 === 'string' ? value.entrypoint_sha256 : '',
    ...(typeof value.entrypoint_build === 'string' ? { entrypointBuild: value.entrypoint_build } : {}),
    bootstrapped,
    mounts: mounts.map((mount, i) => parseMount(mount, `${where}.mounts[${i}]`)),
    uid: optionalInt(value, 'uid', where),
    gid: optionalInt(value, 'gid', where),
    groupGid: optionalInt(value, 'group_gid', where),
    limits: parseLimits(value.limits, where),
    net: parseTable(() => netFromToml(value.net, where)),
    extra: without(value, AGENT_KEYS),
  };
}

function parseKept(value: unknown, index: number): KeptAccount {
  const where = `kept_accounts[${index}]`;
  if (!isTable(value)) throw new ConfigError(`${where} must be a table`);
  const uid = optionalInt(value, 'uid', where);
  const gid = optionalInt(value, 'gid', where);
  if (uid === undefined || gid === undefined) throw new ConfigError(`${where}: "uid" and "gid" are required`);
  return {
    userName: requireString(value, 'user_name', where),
    uid,
    gid,
    group: requireString(value, 'su_as_agent_group', where),
    groupGid: optionalInt(value, 'group_gid', where),
  };
}

export function configFromToml(data: Table): Config {
  const agents = data.agents ?? [];
  if (!Array.isArray(agents)) throw new ConfigError('"agents" must be an array of tables');
  const kept = data.kept_accounts ?? [];
  if (!Array.isArray(kept)) throw new ConfigError('"kept_accounts" must be an array of tables');
  const disable = data.disable_home_access_check ?? false;
  if (typeof disable !== 'boolean') throw new ConfigError('"disable_home_access_check" must be true or false');
  return {
    agents: agents.map(parseAgent),
    kept: kept.map(parseKept),
    disableHomeAccessCheck: disable,
    extra: without(data, ['agents', 'kept_accounts', 'disable_home_access_check']),
  };
}

export function configToToml(config: Config): Table {
  const table: Table = {};
  if (config.disableHomeAccessCheck) table.disable_home_access_check = true;
  Object.assign(table, config.extra);
  table.agents = config.agents.map((agent) => {
    const entry: Table = {
      user_name: agent.userName,
      su_as_agent_group: agent.group,
      entrypoint: agent.entrypoint,
      entrypoint_sha256: agent.entrypointSha256,
      ...(agent.entrypointBuild ? { entrypoint_build: agent.entrypointBuild } : {}),
      bootstrapped: agent.bootstrapped,
    };
    if (agent.uid !== undefined) entry.uid = agent.uid;
    if (agent.gid !== undefined) entry.gid = agent.gid;
    if (agent.groupGid !== undefined) entry.group_gid = agent.groupGid;
    Object.assign(entry, agent.extra);
    if (agent.net) entry.net = netToToml(agent.net);
    if (agent.limits && Object.keys(limitsToToml(agent.limits)).length > 0) entry.limits = limitsToToml(agent.limits);
    entry.mounts = agent.mounts.map((m) => ({
      source: m.source,
      target: m.target,
      read_only: m.readOnly,
      ...(m.pending ? { pending: m.pending } : {}),
      ...(m.review ? { review: m.review } : {}),
    }));
    return entry;
  });
  if (config.kept.length > 0) {
    table.kept_accounts = config.kept.map((k) => ({
      user_name: k.userName,
      uid: k.uid,
      gid: k.gid,
      su_as_agent_group: k.group,
      ...(k.groupGid === undefined ? {} : { group_gid: k.groupGid }),
    }));
  }
  return table;
}

export const emptyConfig = (): Config => ({ agents: [], kept: [], disableHomeAccessCheck: false, extra: {} });

export function findKept(config: Config, name: string): KeptAccount | undefined {
  return config.kept.find((kept) => kept.userName === name);
}

export function findAgent(config: Config, name: string): AgentConfig | undefined {
  return config.agents.find((agent) => agent.userName === name);
}
