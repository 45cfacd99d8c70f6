// `au net set|show|clear|apply` (and the internal `au net proxy`): the agent's network policy,
// stored in the config, enforced by nftables rules on the agent's uid, checked at every run.
import { isIP } from 'node:net';
import { isPythonToolAgent, migrateHint } from '../../agents/migrate.js';
import { type AgentConfig, findAgent } from '../../config/schema.js';
import { AuError } from '../../errors.js';
import { loadConfig, updateConfig } from '../../config/store.js';
import { applyPolicy, listPolicy, loadState, refusedPackets, removePolicy } from '../../net/apply.js';
import { forgetFlows, settleLiveRuns } from '../../net/live-runs.js';
import { type NetPolicy, POLICIES, type PolicyKind, enforced, parseAllowEntry, parseDomain, parsePort, tableOf } from '../../net/policy.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { printJson, say, warn } from '../output.js';
import { requireAgent } from './lookup.js';

export interface NetSetInput {
  port: string[];
  allow: string[];
  domain: string[];
  listen?: string[];
  /** End the agent's live processes (they would keep the old policy) rather than refuse. */
  force?: boolean;
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

/** An allowlist entry, with its IP address checked by node's own parser (`:::` is not one). */
function checkAddress(text: string): void {
  const entry = parseAllowEntry(text);
  if (entry.family === 'name') return;
  const address = entry.host.split('/')[0]!;
  if (isIP(address) !== entry.family)
    throw new UsageError(`invalid address ${JSON.stringify(text)}: ${address} is not an IPv${entry.family} address`);
}

export async function netSetCommand(ctx: Context, name: string, kind: string, input: NetSetInput): Promise<void> {
  if (!(POLICIES as readonly string[]).includes(kind))
    throw new UsageError(`invalid policy ${JSON.stringify(kind)}: expected one of ${POLICIES.join(', ')}`);
  const policy: NetPolicy = {
    policy: kind as PolicyKind,
    loopbackPorts: [...new Set(input.port.map(parsePort))],
    allow: input.allow.map((a) => (checkAddress(a), a.trim())),
    domains: [...new Set(input.domain.map(parseDomain))],
  };
  const listen = [...new Set((input.listen ?? []).map(parsePort))];
  if (listen.length) policy.listenPorts = listen;
  if (kind === 'allow' && (policy.loopbackPorts.length || policy.allow.length || policy.domains.length || listen.length))
    throw new UsageError('policy allow takes no --port, --allow, --domain or --listen');
  if (kind === 'allowlist' && policy.allow.length === 0) throw new UsageError('policy allowlist needs at least one --allow');
  if (kind === 'domains' && policy.domains.length === 0) throw new UsageError('policy domains needs at least one --domain');
  if (kind !== 'domains' && policy.domains.length > 0) throw new UsageError('--domain is for the domains policy');
  if (kind === 'deny' && policy.allow.length > 0) throw new UsageError('--allow is for the allowlist and domains policies');
  const existingPort = findAgent(loadConfig(ctx.configPath), name)?.net?.proxyPort;
  if (kind === 'domains') {
    // The port stays, unless another user listens on it (then `au run` would refuse): a new one.
    const { listenersOn, squatted } = await import('../../net/proxy-process.js');
    const keep = existingPort !== undefined && squatted(listenersOn(existingPort), process.getuid?.() ?? -1) === undefined;
    policy.proxyPort = keep ? existingPort : await freePort();
  }
  await updateConfig(ctx.configPath, ctx.dryRun, async (config, save) => {
    const agent = requireAgent(config, name);
    if (isPythonToolAgent(agent)) throw new AuError(migrateHint(agent));
    settleLiveRuns(ctx.runner, agent, Boolean(input.force), log);
    const candidate = { ...agent, net: kind === 'allow' ? undefined : policy };
    await changeRecorded(agent, save, `set ${kind}`, () => applyPolicy(ctx.runner, candidate, log));
    agent.net = candidate.net;
    finishRecorded(agent, save);
    forgetFlows(ctx.runner, agent, log);
    log(`Network policy of ${name}: ${describe(agent.net)}; inbound: ${describeInbound(agent.net)}`);
  });
}

// Record first, then change: before touching the kernel, the agent's table in the config gets
// `net_change_pending` (while `net` still holds the policy in force). The new policy is saved
// only once nft has loaded it, and the mark goes with it. A kill in between leaves the mark:
// the next `au net apply` (which `au run` names when the kernel and the config disagree), `au
// net set` or `au net clear` loads the recorded policy again, undoing the half-done change.
const PENDING = 'net_change_pending';

async function changeRecorded(agent: AgentConfig, save: () => void, what: string, change: () => Promise<void> | void): Promise<void> {
  agent.extra[PENDING] = what;
  save();
  try {
    await change();
  } catch (error) {
    // nft loads a ruleset in one transaction: refused, the kernel kept the recorded policy.
    finishRecorded(agent, save);
    throw error;
  }
}

function finishRecorded(agent: AgentConfig, save: () => void): void {
  delete agent.extra[PENDING];
  save();
}

function describe(policy: NetPolicy | undefined): string {
  if (!enforced(policy)) return 'allow (no filtering)';
  const parts: string[] = [policy.policy];
  if (policy.loopbackPorts.length) parts.push(`loopback ports ${policy.loopbackPorts.join(', ')}`);
  if (policy.allow.length) parts.push(`allow ${policy.allow.join(', ')}`);
  if (policy.domains.length) parts.push(`domains ${policy.domains.join(', ')} through 127.0.0.1:${policy.proxyPort}`);
  return parts.join('; ');
}

/** What may connect to the agent. */
function describeInbound(policy: NetPolicy | undefined): string {
  if (!enforced(policy)) return 'anything (no filtering)';
  const ports = policy.listenPorts ?? [];
  return ports.length
    ? `TCP ports ${ports.join(', ')} from loopback only; nothing else`
    : 'nothing (no connection to the agent, from anywhere)';
}

export async function netApplyCommand(ctx: Context, name: string, force = false): Promise<void> {
  await updateConfig(ctx.configPath, ctx.dryRun, async (config, save) => {
    const agent = requireAgent(config, name);
    if (agent.extra[PENDING] !== undefined)
      log(`Finishing an interrupted network change of ${name} (${JSON.stringify(agent.extra[PENDING])}): loading its recorded policy`);
    settleLiveRuns(ctx.runner, agent, force, log);
    await applyPolicy(ctx.runner, agent, log);
    if (agent.extra[PENDING] !== undefined) finishRecorded(agent, save);
    forgetFlows(ctx.runner, agent, log);
    log(`Network policy of ${name} loaded: ${describe(agent.net)}`);
  });
}

export async function netClearCommand(ctx: Context, name: string, force = false): Promise<void> {
  await updateConfig(ctx.configPath, ctx.dryRun, async (config, save) => {
    const agent = requireAgent(config, name);
    settleLiveRuns(ctx.runner, agent, force, log);
    await changeRecorded(agent, save, 'clear', () => removePolicy(ctx.runner, name));
    agent.net = undefined;
    finishRecorded(agent, save);
    forgetFlows(ctx.runner, agent, log);
    log(`Network policy of ${name}: allow (no filtering)`);
  });
}

export function netShowCommand(ctx: Context, name: string, json: boolean): void {
  const agent = requireAgent(loadConfig(ctx.configPath), name);
  const listing = enforced(agent.net) ? listPolicy(ctx.runner, name) : undefined;
  const state = listing ? loadState(agent, listing) : 'loaded';
  const refused = listing ? refusedPackets(listing) : undefined;
  if (json) {
    printJson({
      name,
      policy: agent.net?.policy ?? 'allow',
      loopback_ports: agent.net?.loopbackPorts ?? [],
      allow: agent.net?.allow ?? [],
      domains: agent.net?.domains ?? [],
      proxy: agent.net?.proxyPort ? `127.0.0.1:${agent.net.proxyPort}` : null,
      listen_ports: agent.net?.listenPorts ?? [],
      inbound: describeInbound(agent.net),
      table: enforced(agent.net) ? `inet ${tableOf(name)}` : null,
      state,
      refused_packets: refused ?? null,
      rules: listing?.status === 0 ? listing.stdout : null,
    });
    return;
  }
  say(`policy: ${describe(agent.net)}`);
  say(`inbound: ${describeInbound(agent.net)}`);
  if (!listing) return;
  say(
    `table: inet ${tableOf(name)} (${state === 'loaded' ? 'loaded' : state === 'missing' ? 'NOT LOADED' : state === 'outdated' ? 'OUTDATED' : 'cannot read: needs root'})`,
  );
  if (refused !== undefined) say(`refused: ${refused} packets`);
  if (listing.status === 0) process.stdout.write(listing.stdout);
  if (state === 'missing' || state === 'outdated') warn(`au run -a ${name} refuses to start until you run: au net apply -a ${name}`);
}

/**
 * Internal: the CONNECT proxy of a domains policy, as the human, until idle for 10 minutes with
 * no process of the agent alive (while a run lives, the port stays held: see proxy-process.ts).
 */
export async function netProxyCommand(ctx: Context, name: string): Promise<void> {
  const agent = requireAgent(loadConfig(ctx.configPath), name);
  if (agent.net?.policy !== 'domains' || !agent.net.proxyPort) throw new AuError(`agent ${name} has no domains policy`);
  const { startProxy } = await import('../../net/proxy.js');
  const { uidHasProcesses } = await import('../../net/agent-alive.js');
  const uid = agent.uid;
  await startProxy(agent.net.proxyPort, () => findAgent(loadConfig(ctx.configPath), name)?.net, {
    idleExitMs: 10 * 60_000,
    busy: () => uid === undefined || uidHasProcesses(uid),
    log: (line) => process.stderr.write(`au net proxy ${name}: ${line}\n`),
  });
}
