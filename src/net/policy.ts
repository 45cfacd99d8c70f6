// Per-agent network policy: what the human may ask for, how it is stored, the nftables ruleset
// that enforces it (matching the agent's uid, `meta skuid`), and the id `au run` hands the
// entrypoint so it can check that exactly this policy is loaded in the kernel (fail closed).
// Pure and small: `au run` loads it.
import { AuUsageError } from '../errors.js';
import { canonicalName } from './host.js';

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
  /** TCP ports on which the agent may accept connections, from loopback only (`--listen`). */
  listenPorts?: number[];
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
  return { host, family: family, ...(p === undefined ? {} : { port: p }) };
}

/** A domain of the policy: a DNS name as `canonicalName` reads it, `*.name` for its subdomains. */
export function parseDomain(input: string): string {
  const text = input.trim();
  const wildcard = text.startsWith('*.');
  const name = canonicalName(wildcard ? text.slice(2) : text);
  if (name === undefined)
    throw new NetPolicyError(
      `invalid domain ${JSON.stringify(input)}: expected an ASCII name such as example.com or *.example.com (punycode for others)`,
    );
  return wildcard ? `*.${name}` : name;
}

/** Whether name (canonical, see host.ts) is one of the domains (`*.d`: `d`'s subdomains, not `d`). */
export function domainAllowed(domains: readonly string[], name: string): boolean {
  return domains.some((d) => (d.startsWith('*.') ? name.endsWith(d.slice(1)) && name.length > d.length - 1 : name === d));
}

const sortedPorts = (ports: readonly number[] | undefined): number[] => [...new Set(ports ?? [])].sort((a, b) => a - b);

/**
 * A short id of the policy, the uid it applies to and the agent's cgroup id (see cgroup.ts):
 * what the entrypoint checks in the kernel. `3-`: the rules mark flows per agent (an older table
 * no longer passes); an entrypoint older than the inbound rules (which would not put the run in
 * the cgroup they match) refuses any id with a `-`: recreate such an agent.
 */
export function policyId(policy: NetPolicy, uid: number, cgroupId: number): string {
  const canonical = JSON.stringify([
    uid,
    cgroupId,
    policy.policy,
    sortedPorts(policy.loopbackPorts),
    [...policy.allow].sort(),
    [...policy.domains].sort(),
    policy.proxyPort ?? 0,
    sortedPorts(policy.listenPorts),
  ]);
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
  return `3-${(4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36)}`;
}

export const enforced = (policy: NetPolicy | undefined): policy is NetPolicy => policy !== undefined && policy.policy !== 'allow';

/** A resolved allowlist entry: addresses (v4/v6, CIDRs allowed) and an optional port. */
export interface ResolvedAllow {
  addresses: string[];
  port?: number;
}

/** Where the agent's cgroup v2 is for the input rules (cgroup.ts), and its id. */
export interface CgroupMatch {
  nftPath: string;
  level: number;
  id: number;
}

/**
 * The conntrack mark of the flows an agent opened: its uid in bits 8-31 (`uid << 8`), under
 * MARK_MASK; bits 0-7 are left to whoever else marks flows on the machine (a rule sets them as it
 * found them). One value per agent: a flow agent A opened is not let into agent B, and a flow
 * another user opened (a UDP port the agent binds after them, say) is the agent's in neither
 * direction. Only the rules that accept a new flow set it: a refused flow carries no mark.
 */
export const MARK_MASK = 0xffffff00;
const MARK_MAX_UID = 0xffffff;

export function flowMark(uid: number): number {
  if (!Number.isInteger(uid) || uid < 1 || uid > MARK_MAX_UID)
    throw new NetPolicyError(`uid ${uid} does not fit the conntrack mark of a network policy (1-${MARK_MAX_UID})`);
  return uid * 256;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/** `conntrack -m VALUE/MASK`: the agent's flows, to delete when its policy changes. */
export const conntrackMark = (uid: number): string => `${hex(flowMark(uid))}/${hex(MARK_MASK)}`;

/**
 * The whole table, replacing any previous one atomically (`nft -f -`). Both directions:
 * - out (`output` hook, the agent's packets by uid, `meta skuid`): packets of flows carrying the
 *   agent's own mark pass; of the rest, the agent's replies on listed inbound ports towards
 *   loopback; anything else that is not a new flow (a flow someone else opened, whatever its
 *   direction) is dropped. New flows go only where the policy says, never to port 53 (names
 *   are resolved by the proxy, or not at all); the machine's own addresses (`fib daddr type
 *   local`: loopback and every address of its interfaces) only on listed loopback ports and
 *   the proxy; each accepting rule marks the flow; the last rule counts and refuses;
 * - in (`input` hook, packets for a socket of the agent, found by nftables' socket lookup and
 *   matched by the agent's cgroup v2): only flows carrying the agent's mark, and new
 *   connections to listed inbound ports from loopback. Anything else is refused as a closed
 *   port answers (TCP reset, ICMP port unreachable), before TCP sees it: no handshake, no SYN
 *   cookie, no byte in either direction, and nothing that tells a listening port from a closed one.
 */
export function renderRuleset(
  agentName: string,
  uid: number,
  policy: NetPolicy,
  allow: readonly ResolvedAllow[],
  cgroup: CgroupMatch,
): string {
  const table = tableOf(agentName);
  const value = hex(flowMark(uid));
  const mask = hex(MARK_MASK);
  const own = `ct mark and ${mask} == ${value}`;
  const accept = `ct mark set ct mark and ${hex(~MARK_MASK >>> 0)} or ${value} accept`;
  const listen = sortedPorts(policy.listenPorts);
  const listenSet = `{ ${listen.join(', ')} }`;
  const rules: string[] = [
    `${own} accept`,
    ...(listen.length
      ? [
          `ct direction reply ip daddr 127.0.0.0/8 tcp sport ${listenSet} accept`,
          `ct direction reply ip6 daddr ::1 tcp sport ${listenSet} accept`,
        ]
      : []),
    'ct state != new counter name refused drop',
    'meta l4proto { tcp, udp } th dport 53 counter name refused reject with icmpx admin-prohibited',
  ];
  const ports = sortedPorts(policy.loopbackPorts);
  if (ports.length > 0) rules.push(`fib daddr type local tcp dport { ${ports.join(', ')} } ${accept}`);
  // The proxy's exact address and port: any other loopback address could be another user's.
  if (policy.policy === 'domains' && policy.proxyPort) rules.push(`ip daddr 127.0.0.1 tcp dport ${policy.proxyPort} ${accept}`);
  // The machine's own addresses are loopback by another door (a service on 0.0.0.0 answers on
  // all of them): an allowlisted subnet holding one does not open them.
  rules.push('fib daddr type local counter name refused reject with icmpx admin-prohibited');
  if (policy.policy === 'allowlist' || policy.policy === 'domains') {
    for (const entry of allow) {
      for (const address of entry.addresses) {
        const match = `${address.includes(':') ? 'ip6' : 'ip'} daddr ${address}`;
        rules.push(entry.port === undefined ? `${match} ${accept}` : `${match} meta l4proto { tcp, udp } th dport ${entry.port} ${accept}`);
      }
    }
  }
  rules.push('counter name refused reject with icmpx admin-prohibited');
  const inbound = [
    `${own} accept`,
    ...(listen.length
      ? [`iif lo ip daddr 127.0.0.0/8 tcp dport ${listenSet} accept`, `iif lo ip6 daddr ::1 tcp dport ${listenSet} accept`]
      : []),
    'meta l4proto tcp counter name refused reject with tcp reset',
    'counter name refused reject with icmpx port-unreachable',
  ];
  return [
    `table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    `  comment "au-policy:${policyId(policy, uid, cgroup.id)}"`,
    '  counter refused { }',
    '  chain agent {',
    ...rules.map((r) => `    ${r}`),
    '  }',
    '  chain agent_in {',
    ...inbound.map((r) => `    ${r}`),
    '  }',
    '  chain output {',
    '    type filter hook output priority filter; policy accept;',
    `    meta skuid ${uid} jump agent`,
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    socket cgroupv2 level ${cgroup.level} ${JSON.stringify(cgroup.nftPath)} jump agent_in`,
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
  if (typeof kind !== 'string' || !(POLICIES as readonly string[]).includes(kind))
    throw new NetPolicyError(`${where}: net.policy must be one of ${POLICIES.join(', ')}`);
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
  if (t.proxy_port !== undefined)
    policy.proxyPort = parsePort(typeof t.proxy_port === 'number' || typeof t.proxy_port === 'string' ? String(t.proxy_port) : '');
  const listen = list('listen_ports').map((p) => parsePort(String(p)));
  if (listen.length) policy.listenPorts = listen;
  return policy;
}

export function netToToml(policy: NetPolicy): Record<string, unknown> {
  const t: Record<string, unknown> = {
    policy: policy.policy,
    loopback_ports: policy.loopbackPorts,
    allow: policy.allow,
    domains: policy.domains,
  };
  if (policy.proxyPort !== undefined) t.proxy_port = policy.proxyPort;
  if (policy.listenPorts?.length) t.listen_ports = policy.listenPorts;
  return t;
}
