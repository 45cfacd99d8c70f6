// `au run` under a domains policy: the proxy must be listening before the agent starts. If
// nothing answers on its port, start it as the human (detached, `au net proxy`), then wait.
import { lazyRequire } from '../system/lazy-require.js';

const probe = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    // node:net costs milliseconds to load: only runs with a domains policy pay for it.
    const { connect } = lazyRequire('node:net') as typeof import('node:net');
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/** The uid listening on 127.0.0.1:port, from /proc/net/tcp (undefined if none). */
async function listenerUid(port: number): Promise<number | undefined> {
  const { readFileSync } = await import('node:fs');
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === '0A') return Number(f[7]);
  }
  return undefined;
}

/** Only our own proxy will do: another user (or the agent) could have taken the port. */
async function checkOwner(agentName: string, port: number): Promise<void> {
  const uid = await listenerUid(port);
  if (uid !== undefined && uid !== process.getuid?.()) {
    throw new Error(`127.0.0.1:${port}, the network proxy port of ${agentName}, is held by uid ${uid}, not you: run \`au net set -a ${agentName} domains ...\` again to pick another port`);
  }
}

export async function ensureProxyRunning(agentName: string, port: number, configPath: string | undefined): Promise<void> {
  if (await probe(port)) return checkOwner(agentName, port);
  const { spawn } = await import('node:child_process');
  const args = [`${__dirname}/au.cjs`, 'net', 'proxy', '-a', agentName, ...(configPath ? ['-C', configPath] : [])];
  spawn(process.execPath, args, { detached: true, stdio: 'ignore' }).unref();
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 20));
    if (await probe(port)) return checkOwner(agentName, port);
  }
  throw new Error(`the network proxy of ${agentName} did not start on 127.0.0.1:${port} (try: au net proxy -a ${agentName})`);
}
