// The HTTP CONNECT proxy of the `domains` policy. It runs as the human (never root), listens on
// 127.0.0.1 (the only address the agent's nftables rules let it reach), and forwards HTTP
// (absolute-URI requests) and HTTPS (CONNECT) only to the listed domains, ports 80 and 443.
// Names are resolved here, once, and the connection goes to the address that was checked (no
// second lookup to rebind); names resolving to loopback, link-local or cloud metadata addresses
// are refused unless the address is in the policy's allow list.
import { BlockList, type Socket, connect, createServer, isIPv4 } from 'node:net';
import { lookup } from 'node:dns/promises';
import { type NetPolicy, domainAllowed, parseAllowEntry } from './policy.js';

const MAX_HEAD = 16 * 1024;
const PORTS = new Set([80, 443]);

function blockedRanges(): BlockList {
  const b = new BlockList();
  b.addSubnet('127.0.0.0', 8, 'ipv4');
  b.addSubnet('0.0.0.0', 8, 'ipv4');
  b.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, 169.254.169.254 metadata
  b.addAddress('100.100.100.200', 'ipv4'); // metadata (Alibaba)
  b.addAddress('::1', 'ipv6');
  b.addAddress('::', 'ipv6');
  b.addSubnet('fe80::', 10, 'ipv6');
  b.addAddress('fd00:ec2::254', 'ipv6'); // metadata (AWS, IPv6)
  return b;
}

function listed(policy: NetPolicy): BlockList {
  const b = new BlockList();
  for (const text of policy.allow) {
    const entry = parseAllowEntry(text);
    if (entry.family === 'name') continue;
    const [addr, len] = entry.host.split('/');
    const type = entry.family === 4 ? 'ipv4' : 'ipv6';
    if (len !== undefined) b.addSubnet(addr!, Number(len), type);
    else b.addAddress(addr!, type);
  }
  return b;
}

const unmapped = (address: string): string => (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address);

/** The address to connect to for host, or a reason to refuse. */
export async function checkDestination(policy: NetPolicy, host: string, port: number): Promise<{ address: string } | { refuse: string }> {
  if (!PORTS.has(port)) return { refuse: `port ${port} is not HTTP(S)` };
  if (!domainAllowed(policy.domains, host)) return { refuse: `${host} is not a listed domain` };
  let addresses: string[];
  try {
    addresses = (await lookup(host, { all: true })).map((a) => unmapped(a.address));
  } catch {
    return { refuse: `${host} does not resolve` };
  }
  const blocked = blockedRanges();
  const allowed = listed(policy);
  for (const address of addresses) {
    const type = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (blocked.check(address, type) && !allowed.check(address, type)) return { refuse: `${host} resolves to ${address} (loopback, link-local or metadata)` };
  }
  return addresses[0] ? { address: addresses[0] } : { refuse: `${host} does not resolve` };
}

function refuse(client: Socket, reason: string): void {
  client.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nau: refused by the network policy: ${reason}\n`);
}

/** Splits `host:port` / `[v6]:port`. */
function hostPort(text: string, defaultPort: number): [string, number] | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:/]+))(?::(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  return [(m[1] ?? m[2])!, m[3] ? Number(m[3]) : defaultPort];
}

async function handle(client: Socket, head: Buffer, rest: Buffer, policy: NetPolicy | undefined, log: (line: string) => void): Promise<void> {
  const lines = head.toString('latin1').split('\r\n');
  const [method, target, version] = (lines[0] ?? '').split(' ');
  if (!policy || policy.policy !== 'domains') return refuse(client, 'no domains policy');
  if (!method || !target || !version?.startsWith('HTTP/')) return refuse(client, 'malformed request');
  let host: string;
  let port: number;
  let forward: Buffer | undefined;
  if (method === 'CONNECT') {
    const hp = hostPort(target, 443);
    if (!hp) return refuse(client, 'malformed CONNECT target');
    [host, port] = hp;
  } else {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return refuse(client, 'not an absolute http:// URI');
    }
    if (url.protocol !== 'http:') return refuse(client, 'only http:// requests (use CONNECT for https)');
    host = url.hostname.replace(/^\[|\]$/g, '');
    port = url.port ? Number(url.port) : 80;
    // One request per connection: the next one on this connection could name another host.
    const headers = lines.slice(1).filter((l) => l !== '' && !/^(proxy-[a-z-]*|connection|keep-alive)\s*:/i.test(l));
    forward = Buffer.concat([Buffer.from(`${method} ${url.pathname}${url.search} ${version}\r\n${headers.join('\r\n')}\r\nConnection: close\r\n\r\n`, 'latin1'), rest]);
  }
  const verdict = await checkDestination(policy, host, port);
  if ('refuse' in verdict) {
    log(`refused ${method} ${host}:${port}: ${verdict.refuse}`);
    return refuse(client, verdict.refuse);
  }
  const upstream = connect({ host: verdict.address, port });
  upstream.once('error', () => {
    if (!client.destroyed) client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n');
  });
  upstream.once('connect', () => {
    if (forward) upstream.write(forward);
    else {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (rest.length > 0) upstream.write(rest);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  client.once('close', () => upstream.destroy());
  upstream.once('close', () => client.destroy());
}

/** Serves on 127.0.0.1:port; `policy` is read for every connection (the config may change). */
export function startProxy(port: number, policy: () => NetPolicy | undefined, options: { idleExitMs?: number; log?: (line: string) => void } = {}): Promise<void> {
  const log = options.log ?? (() => {});
  let open = 0;
  let lastActive = Date.now();
  const server = createServer((client) => {
    open++;
    lastActive = Date.now();
    client.on('error', () => client.destroy());
    client.once('close', () => {
      open--;
      lastActive = Date.now();
    });
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buffered.length > MAX_HEAD) refuse(client, 'request head too long');
        return;
      }
      client.off('data', onData);
      client.pause();
      let current: NetPolicy | undefined;
      try {
        current = policy();
      } catch {
        current = undefined;
      }
      // Stays paused until piped to the upstream (pipe resumes it).
      handle(client, buffered.subarray(0, end), buffered.subarray(end + 4), current, log).catch(() => client.destroy());
    };
    client.on('data', onData);
  });
  if (options.idleExitMs) {
    const timer = setInterval(() => {
      if (open === 0 && Date.now() - lastActive > options.idleExitMs!) server.close(() => clearInterval(timer));
    }, Math.min(options.idleExitMs, 30_000));
    timer.unref();
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => resolve());
  });
}
