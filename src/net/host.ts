// One parser for the host names and addresses the network policy sees: the domains of a policy
// and the target of a CONNECT request. It decides once, and its canonical value is what the
// policy checks, what is resolved and what is connected to (nothing downstream re-reads the
// agent's bytes). Strict on purpose: whatever a resolver or an address parser could read in two
// ways is refused rather than interpreted.
//
// - DNS names: ASCII letters, digits, `-` and `_` in labels of 1-63 (no leading or trailing
//   `-`), 253 at most, lowercased; one trailing dot (the absolute form) is dropped, so
//   `example.com.` and `example.com` are the same name for the check and for the lookup.
// - IDNA: non-ASCII names are refused; write them in punycode (`xn--...`), which is matched as
//   the plain ASCII it is.
// - The last label must start with a letter: no TLD starts with a digit, and this refuses every
//   form `inet_aton` would read as an IPv4 address (`2130706433`, `0177.0.0.1`, `0x7f.1`,
//   `127.1`) before a resolver can.
// - IPv4 literals: dotted quad only, no leading zeros. IPv6 literals: what node:net calls IPv6,
//   without a zone id (`%`).
// - NUL, control bytes, whitespace, `%`, `/`, `@` and anything else outside those alphabets:
//   refused.
import { lazyRequire } from '../system/lazy-require.js';

// node:net costs milliseconds at start-up and policy.ts (loaded by every `au run`) uses this
// module for domains: only parsing an address loads it.
const isIP = (text: string): number => (lazyRequire('node:net') as typeof import('node:net')).isIP(text);

export type Host = { kind: 'name'; name: string } | { kind: 'ipv4' | 'ipv6'; address: string };

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A DNS name in canonical form, or undefined if text is not one (see the top). */
export function canonicalName(text: string): string | undefined {
  const name = (text.endsWith('.') ? text.slice(0, -1) : text).toLowerCase();
  if (name.length === 0 || name.length > 253 || !/^[a-z0-9_.-]+$/.test(name)) return undefined;
  const labels = name.split('.');
  if (!labels.every((l) => LABEL.test(l))) return undefined;
  return /^[a-z]/.test(labels[labels.length - 1]!) ? name : undefined;
}

/** A name, a dotted-quad IPv4 address or an IPv6 address (without brackets); undefined if none. */
export function parseHost(text: string): Host | undefined {
  if (IPV4.test(text)) return { kind: 'ipv4', address: text };
  if (text.includes(':')) return !text.includes('%') && isIP(text) === 6 ? { kind: 'ipv6', address: text.toLowerCase() } : undefined;
  const name = canonicalName(text);
  return name === undefined ? undefined : { kind: 'name', name };
}

/** The authority form of CONNECT: `host:port` or `[IPv6]:port`, the port always given. */
export function parseConnectTarget(target: string): { host: Host; port: number } | undefined {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([1-9]\d{0,4})$/.exec(target);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] !== undefined ? (m[1].includes(':') ? parseHost(m[1]) : undefined) : parseHost(m[2]!);
  return host ? { host, port } : undefined;
}
