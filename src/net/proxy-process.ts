// `au run` under a domains policy: the agent's proxy must be listening, and be ours, before the
// agent starts. The agent's rules let it reach 127.0.0.1:PORT only; whoever listens there gets
// its connections. So every socket listening on PORT, on any address, IPv4 or IPv6 (a
// `0.0.0.0:PORT` or a dual-stack `[::]:PORT` listener receives 127.0.0.1:PORT too), must be the
// human's, and one must be on 127.0.0.1 (where au's proxy binds); otherwise the run is refused
// (fail closed). While the proxy holds 127.0.0.1:PORT no other uid can bind that port on an
// address that would receive it (the kernel refuses the bind; SO_REUSEPORT needs the same uid),
// and the proxy does not exit while a process of the agent lives (see `au net proxy`).
// Listeners are read from /proc/net/tcp{,6}: nothing connects to a port another user may hold.
import { readFileSync } from 'node:fs';
import { lazyRequire } from '../system/lazy-require.js';

export interface Listener {
  /** The local address as /proc shows it (hex). */
  address: string;
  uid: number;
}

const LOOPBACK4 = '0100007F';

/** Every TCP socket listening on port, IPv4 and IPv6, from the kernel's tables. */
export function listenersOn(port: number, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): Listener[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: Listener[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = read(table);
    } catch (error) {
      if (table.endsWith('6') && (error as NodeJS.ErrnoException).code === 'ENOENT') continue; // no IPv6 in this kernel
      throw error;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const [address, localPort] = (f[1] ?? '').split(':');
      if (localPort === hexPort && f[3] === '0A') out.push({ address: address!, uid: Number(f[7]) });
    }
  }
  return out;
}

/** Why the listeners on the proxy port are not (only) the human's proxy; undefined when they are. */
export function squatted(listeners: readonly Listener[], humanUid: number): string | undefined {
  const foreign = listeners.find((l) => l.uid !== humanUid);
  if (foreign)
    return `held by uid ${foreign.uid} (a listener on ${foreign.address.length > 8 ? 'IPv6' : 'IPv4'} address ${foreign.address})`;
  return undefined;
}

const hasOurs = (listeners: readonly Listener[], humanUid: number): boolean =>
  listeners.some((l) => l.uid === humanUid && l.address === LOOPBACK4);

/**
 * Opens and closes a connection to the proxy: it restarts the proxy's idle time, so it cannot
 * exit (and free the port) between this check and the agent's first process. The listeners are
 * checked again afterwards: were this connection to reach someone else, that shows there.
 */
function touch(port: number): Promise<void> {
  return new Promise((resolve) => {
    // node:net costs milliseconds to load: only runs with a domains policy pay for it.
    const { connect } = lazyRequire('node:net') as typeof import('node:net');
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => s.destroy());
    s.once('close', () => resolve());
    s.once('error', () => resolve());
  });
}

export async function ensureProxyRunning(agentName: string, port: number, configPath: string | undefined): Promise<void> {
  const uid = process.getuid?.() ?? -1;
  const check = (): boolean => {
    const listeners = listenersOn(port);
    const why = squatted(listeners, uid);
    if (why)
      throw new Error(
        `port ${port}, the network proxy port of ${agentName}, is ${why}, not only yours: refusing to run; run \`au net set -a ${agentName} domains ...\` again to pick another port`,
      );
    return hasOurs(listeners, uid);
  };
  if (check() && (await touch(port), check())) return;
  const { spawn } = await import('node:child_process');
  const args = [`${__dirname}/au.cjs`, 'net', 'proxy', '-a', agentName, ...(configPath ? ['-C', configPath] : [])];
  spawn(process.execPath, args, { detached: true, stdio: 'ignore' }).unref();
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 20));
    if (check() && (await touch(port), check())) return;
  }
  throw new Error(`the network proxy of ${agentName} did not start on 127.0.0.1:${port} (try: au net proxy -a ${agentName})`);
}
