// The HTTP CONNECT proxy of the `domains` policy. It runs as the human (never root), listens on
// 127.0.0.1 (the only address and port the agent's nftables rules let it reach), and opens
// tunnels (CONNECT, ports 80 and 443) only to the listed domains. HTTP is parsed by node:http
// (llhttp), not by hand; only CONNECT is served: absolute-form requests (`GET http://...`) and
// anything else are refused, so there is one request form and one target to validate.
// The target is parsed once (host.ts) into a canonical name; that name is what the policy
// checks and what is resolved, here, once; the connection goes to the address that was
// checked (no second lookup to rebind). Names resolving to loopback, link-local, unspecified
// or cloud metadata addresses, or to any address of this machine (local-address.ts: a service
// of the human on 0.0.0.0 answers there), are refused unless the address is in the policy's
// allow list.
// Address literals are refused: a domains policy lists names (addresses go in --allow).
import { lookup } from 'node:dns/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { BlockList, type Socket, connect, isIPv4 } from 'node:net';
import type { Duplex } from 'node:stream';
import { parseConnectTarget } from './host.js';
import { isLocalAddress } from './local-address.js';
import { type NetPolicy, domainAllowed, parseAllowEntry } from './policy.js';

const PORTS = new Set([80, 443]);

export interface ProxyOptions {
  /** The whole request head must arrive within this (slowloris). */
  headersTimeoutMs?: number;
  /** A tunnel (or a connection that sent nothing yet) with no byte either way for this long is closed. */
  idleTimeoutMs?: number;
  /** Exit once nothing was open for this long and `busy()` is false (a run of the agent is live). */
  idleExitMs?: number;
  busy?: () => boolean;
  log?: (line: string) => void;
}

function blockedRanges(): BlockList {
  const b = new BlockList();
  b.addSubnet('127.0.0.0', 8, 'ipv4');
  b.addSubnet('0.0.0.0', 8, 'ipv4');
  b.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, 169.254.169.254 metadata
  b.addSubnet('224.0.0.0', 3, 'ipv4'); // multicast, reserved, broadcast
  b.addAddress('100.100.100.200', 'ipv4'); // metadata (Alibaba)
  b.addAddress('::1', 'ipv6');
  b.addAddress('::', 'ipv6');
  b.addSubnet('fe80::', 10, 'ipv6');
  b.addSubnet('ff00::', 8, 'ipv6');
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

/** Where a CONNECT to target may go: the address to connect to, or why not. */
export async function checkTarget(
  policy: NetPolicy,
  target: string,
): Promise<{ address: string; port: number; name: string } | { refuse: string }> {
  const parsed = parseConnectTarget(target);
  if (!parsed) return { refuse: 'not a host name or address with a port' };
  const { host, port } = parsed;
  if (host.kind !== 'name') return { refuse: `${host.address} is an address, not a listed domain` };
  return checkDestination(policy, host.name, port);
}

/** The address to connect to for a canonical name (host.ts), or a reason to refuse. */
export async function checkDestination(
  policy: NetPolicy,
  name: string,
  port: number,
): Promise<{ address: string; port: number; name: string } | { refuse: string }> {
  if (!PORTS.has(port)) return { refuse: `port ${port} is not HTTP(S)` };
  if (!domainAllowed(policy.domains, name)) return { refuse: `${name} is not a listed domain` };
  let addresses: string[];
  try {
    addresses = (await lookup(name, { all: true })).map((a) => unmapped(a.address));
  } catch {
    return { refuse: `${name} does not resolve` };
  }
  const blocked = blockedRanges();
  const allowed = listed(policy);
  for (const address of addresses) {
    const type = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (allowed.check(address, type)) continue;
    if (blocked.check(address, type)) return { refuse: `${name} resolves to ${address} (loopback, link-local, multicast or metadata)` };
    if (await isLocalAddress(address)) return { refuse: `${name} resolves to ${address}, an address of this machine` };
  }
  return addresses[0] ? { address: addresses[0], port, name } : { refuse: `${name} does not resolve` };
}

const REFUSED = (reason: string): string =>
  `HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nau: refused by the network policy: ${reason}\n`;

/** Printable for the log: the agent chose these bytes. */
const shown = (text: string): string => JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);

function tunnel(client: Duplex, head: Buffer, address: string, port: number, idleMs: number): void {
  const upstream: Socket = connect({ host: address, port });
  upstream.setTimeout(idleMs, () => upstream.destroy());
  upstream.once('error', () => {
    if (!client.destroyed) client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n');
  });
  upstream.once('connect', () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  client.once('close', () => upstream.destroy());
  upstream.once('close', () => client.destroy());
}

/** The proxy's HTTP server (not listening yet); `policy` is read for every request (the config may change). */
export function proxyServer(policy: () => NetPolicy | undefined, options: ProxyOptions = {}): Server {
  const log = options.log ?? (() => {});
  const idleMs = options.idleTimeoutMs ?? 10 * 60_000;
  const server = createServer({
    insecureHTTPParser: false,
    headersTimeout: options.headersTimeoutMs ?? 10_000,
    requestTimeout: options.headersTimeoutMs ?? 10_000,
    maxHeaderSize: 16 * 1024,
    connectionsCheckingInterval: Math.min(options.headersTimeoutMs ?? 10_000, 1000),
  });
  server.keepAliveTimeout = 1000;
  server.on('connection', (socket: Socket) => {
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    log(`refused ${shown(req.method ?? '')} ${shown(req.url ?? '')}: only CONNECT is served`);
    res.shouldKeepAlive = false;
    res.writeHead(403, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end('au: refused by the network policy: only CONNECT tunnels are served (https://, or http:// through a tunnelling client)\n');
  });
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    client.on('error', () => client.destroy());
    const target = req.url ?? '';
    let current: NetPolicy | undefined;
    try {
      current = policy();
    } catch {
      current = undefined;
    }
    if (current?.policy !== 'domains') {
      client.end(REFUSED('no domains policy'));
      return;
    }
    checkTarget(current, target)
      .then((verdict) => {
        if (client.destroyed) return;
        if ('refuse' in verdict) {
          log(`refused CONNECT ${shown(target)}: ${verdict.refuse}`);
          client.end(REFUSED(verdict.refuse));
          return;
        }
        tunnel(client, head, verdict.address, verdict.port, idleMs);
      })
      .catch(() => client.destroy());
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return socket.destroy();
    // What llhttp would not parse (a NUL or a control byte in the request line, say) is refused
    // like a target the policy does not list; a slow head gets its timeout answer.
    const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    log(`refused a request: ${timeout ? 'head not received in time' : `malformed (${error.code ?? error.message})`}`);
    socket.end(timeout ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n' : REFUSED('malformed request'));
  });
  if (options.idleExitMs) {
    let lastActive = Date.now();
    const idleExitMs = options.idleExitMs;
    server.on('connection', (socket: Socket) => {
      lastActive = Date.now();
      socket.once('close', () => (lastActive = Date.now()));
    });
    const timer = setInterval(
      () => {
        if (Date.now() - lastActive < idleExitMs) return;
        server.getConnections((error, open) => {
          if (error || open > 0 || options.busy?.()) return;
          clearInterval(timer);
          server.close();
        });
      },
      Math.min(idleExitMs, 30_000),
    );
    timer.unref();
  }
  return server;
}

/** Serves on 127.0.0.1:port. */
export function startProxy(port: number, policy: () => NetPolicy | undefined, options: ProxyOptions = {}): Promise<Server> {
  const server = proxyServer(policy, options);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => resolve(server));
  });
}
