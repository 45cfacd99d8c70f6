// Per-agent network policy: what the human may ask for, how it is stored, the nftables ruleset
// that enforces it (matching the agent's uid, `meta skuid`), and the id `au run` hands the
// entrypoint so it can check that exactly this policy is loaded in the kernel (fail closed).
// Pure and small: `au run` loads it.
import { AuUsageError } from '../errors.js';

export const POLICIES = ['allow', 'deny', 'allowlist', 'domains'] as const;
export type PolicyKind = (typeof POLICIES)[number];

export interface NetPolicy {
  policy: PolicyKind;
  /** TCP ports on loopback (127.0.0.0/8, ::1) the agent may connect to. */
  loopbackPorts: number[];
  /** allowlist (and domains): `host[:port]`, `IP[:port]`, `CIDR[:port]`, `[IPv6]:port`. */
  allow: string[];
  /** domains: `example.com` (and its subdomains with `*.example.com`), reached through the proxy. */
  domains: string[];
  /** domains: the port of the HTTP CONNECT proxy on 127.0.0.1, chosen by `au net set`. */
  proxyPort?: number;
}

export class NetPolicyError extends AuUsageError {}

export const tableOf = (agentName: string): string => `au-${agentName}`;

const PORT = /^\d{1,5}$/;
function port(text: string, what: string): number {
  const n = Number(text);
  if (!PORT.test(text) || n < 1 || n > 65535) throw new NetPolicyError(`invalid ${what} ${JSON.stringify(text)}: expected a port 1-65535`);
  return n;
}
export const parsePort = (text: string): number => port(text, 'port');

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$/;
const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)*\.?$/;

export interface AllowEntry {
  /** An address, a CIDR, or a host name (resolved by `au net apply`). */
  host: string;
  family: 4 | 6 | 'name';
  port?: number;
}

/** `10.0.0.0/8`, `1.2.3.4:443`, `[2001:db8::1]:443`, `2001:db8::/32`, `example.com:443`. */
export function parseAllowEntry(input: string): AllowEntry {
  let host = input.trim();
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2];
  } else if ((host.match(/:/g) ?? []).length === 1) {
    [host, portText] = host.split(':') as [string, string];
  }
  const [addr, len, extra] = host.split('/');
  const p = portText === undefined ? undefined : port(portText, `port in ${JSON.stringify(input)}`);
  const bad = (): never => {
    throw new NetPolicyError(`invalid address ${JSON.stringify(input)}: expected host[:port], IP[:port], CIDR[:port] or [IPv6]:port`);
  };
  if (extra !== undefined || addr === undefined || addr === '') bad();
  const family = IPV4.test(addr!) ? 4 : IPV6.test(addr!) ? 6 : HOSTNAME.test(addr!) ? 'name' : bad();
  if (len !== undefined) {
    const max = family === 4 ? 32 : family === 6 ? 128 : bad();
    if (!/^\d{1,3}$/.test(len) || Number(len) > (max as number)) bad();
  }
  return { host, family: family as AllowEntry['family'], ...(p === undefined ? {} : { port: p }) };
}

const DOMAIN = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*$/;
export function parseDomain(input: string): string {
  const d = input.trim().toLowerCase().replace(/\.$/, '');
  if (!DOMAIN.test(d) || d.length > 253) throw new NetPolicyError(`invalid domain ${JSON.stringify(input)}: expected a name such as example.com or *.example.com`);
  return d;
}

/** Whether host is one of the domains (`*.d` also matches `d`'s subdomains, not `d` itself). */
export function domainAllowed(domains: readonly string[], host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return domains.some((d) => (d.startsWith('*.') ? h.endsWith(d.slice(1)) && h.length > d.length - 1 : h === d));
}

/** A short id of the policy (and the uid it applies to): what the entrypoint checks in the kernel. */
export function policyId(policy: NetPolicy, uid: number): string {
  const canonical = JSON.stringify([uid, policy.policy, [...policy.loopbackPorts].sort((a, b) => a - b), [...policy.allow].sort(), [...policy.domains].sort(), policy.proxyPort ?? 0]);
  // cyrb53: a consistency check, not a security boundary (only root can load a table).
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < canonical.length; i++) {
    const c = canonical.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

export const enforced = (policy: NetPolicy | undefined): policy is NetPolicy => policy !== undefined && policy.policy !== 'allow';

/** A resolved allowlist entry: addresses (v4/v6, CIDRs allowed) and an optional port. */
export interface ResolvedAllow {
  addresses: string[];
  port?: number;
}

/**
 * The whole table, replacing any previous one atomically (`nft -f -`). Only the agent's packets
 * (meta skuid) enter the `agent` chain; the last rule there counts and refuses.
 */
export function renderRuleset(agentName: string, uid: number, policy: NetPolicy, allow: readonly ResolvedAllow[]): string {
  const table = tableOf(agentName);
  const rules: string[] = ['ct state established,related accept'];
  const ports = [...new Set(policy.loopbackPorts)].sort((a, b) => a - b);
  if (policy.policy === 'domains' && policy.proxyPort) ports.push(policy.proxyPort);
  if (ports.length > 0) {
    const set = `{ ${ports.join(', ')} }`;
    rules.push(`ip daddr 127.0.0.0/8 tcp dport ${set} accept`, `ip6 daddr ::1 tcp dport ${set} accept`);
  }
  if (policy.policy === 'allowlist' || policy.policy === 'domains') {
    for (const entry of allow) {
      for (const address of entry.addresses) {
        const match = `${address.includes(':') ? 'ip6' : 'ip'} daddr ${address}`;
        rules.push(entry.port === undefined ? `${match} accept` : `${match} meta l4proto { tcp, udp } th dport ${entry.port} accept`);
      }
    }
  }
  rules.push('counter name refused reject with icmpx admin-prohibited');
  return [
    `table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    `  comment "au-policy:${policyId(policy, uid)}"`,
    '  counter refused { }',
    '  chain agent {',
    ...rules.map((r) => `    ${r}`),
    '  }',
    '  chain output {',
    '    type filter hook output priority filter; policy accept;',
    `    meta skuid ${uid} jump agent`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The `[agents.net]` table; undefined when absent. */
export function netFromToml(value: unknown, where: string): NetPolicy | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new NetPolicyError(`${where}: "net" must be a table`);
  const t = value as Record<string, unknown>;
  const kind = t.policy ?? 'allow';
  if (typeof kind !== 'string' || !(POLICIES as readonly string[]).includes(kind)) throw new NetPolicyError(`${where}: net.policy must be one of ${POLICIES.join(', ')}`);
  const list = (key: string): unknown[] => {
    const v = t[key] ?? [];
    if (!Array.isArray(v)) throw new NetPolicyError(`${where}: net.${key} must be an array`);
    return v;
  };
  const policy: NetPolicy = {
    policy: kind as PolicyKind,
    loopbackPorts: list('loopback_ports').map((p) => parsePort(String(p))),
    allow: list('allow').map((a) => {
      parseAllowEntry(String(a));
      return String(a);
    }),
    domains: list('domains').map((d) => parseDomain(String(d))),
  };
  if (t.proxy_port !== undefined) policy.proxyPort = parsePort(String(t.proxy_port));
  return policy;
}

export function netToToml(policy: NetPolicy): Record<string, unknown> {
  const t: Record<string, unknown> = { policy: policy.policy, loopback_ports: policy.loopbackPorts, allow: policy.allow, domains: policy.domains };
  if (policy.proxyPort !== undefined) t.proxy_port = policy.proxyPort;
  return t;
}
