// Loading, removing and reading an agent's nftables table (all through the CommandRunner: the
// loads are printed, with the ruleset, before they run; reading needs root too).
import { existsSync, readdirSync } from 'node:fs';
import type { AgentConfig } from '../config/schema.js';
import { AuError } from '../errors.js';
import type { CommandRunner, StepResult } from '../system/runner.js';
import { agentCgroup, agentCgroupId, expectedPolicyId } from './cgroup.js';
import { type NetPolicy, type ResolvedAllow, enforced, parseAllowEntry, renderRuleset, tableOf } from './policy.js';

/** Host names in the allowlist are resolved now: the kernel matches addresses. */
export async function resolveAllow(policy: NetPolicy): Promise<ResolvedAllow[]> {
  const { lookup } = await import('node:dns/promises');
  const out: ResolvedAllow[] = [];
  for (const text of policy.allow) {
    const entry = parseAllowEntry(text);
    let addresses = [entry.host];
    if (entry.family === 'name') {
      try {
        addresses = [...new Set((await lookup(entry.host, { all: true })).map((a) => a.address))];
      } catch (error) {
        throw new AuError(`cannot resolve ${entry.host} (allowlist): ${(error as Error).message}`, {
          operation: 'resolve the allowlist',
          hint: 'check the name and your DNS, or allow its address instead',
        });
      }
    }
    out.push({ addresses, ...(entry.port === undefined ? {} : { port: entry.port }) });
  }
  return out;
}

function uidOf(agent: AgentConfig): number {
  if (agent.uid === undefined) throw new AuError(`agent ${agent.userName} has no recorded uid: run \`au new -a ${agent.userName}\``);
  return agent.uid;
}

/** Loads the agent's policy into the kernel (replacing its table atomically), or removes it for allow. */
export async function applyPolicy(runner: CommandRunner, agent: AgentConfig, log: (line: string) => void): Promise<void> {
  if (!enforced(agent.net)) {
    removePolicy(runner, agent.userName);
    return;
  }
  const uid = uidOf(agent);
  const allow = await resolveAllow(agent.net);
  // The input rules know the agent's sockets by its cgroup v2, which must exist to be named.
  const cgroup = agentCgroup(agent.userName);
  if (!cgroup)
    throw new AuError('no cgroup v2 hierarchy (/sys/fs/cgroup or /sys/fs/cgroup/unified): the inbound rules of a network policy need one');
  runner.change(['mkdir', '-p', cgroup.dir], { privileged: true });
  const ruleset = renderRuleset(agent.userName, uid, agent.net, allow, { ...cgroup, id: agentCgroupId(agent.userName) });
  for (const line of ruleset.trimEnd().split('\n')) log(`  | ${line}`);
  runner.change(['nft', '-f', '-'], { privileged: true, input: ruleset });
}

/**
 * Removes the agent's table if present (idempotent: one transaction that creates then deletes),
 * then its policy cgroup v2 if unused (a limit cgroup on cgroup2 hosts: the entrypoint makes it
 * again at the next run with limits).
 */
export function removePolicy(runner: CommandRunner, agentName: string): void {
  const table = tableOf(agentName);
  runner.change(['nft', '-f', '-'], { privileged: true, input: `table inet ${table}\ndelete table inet ${table}\n` });
  const cgroup = agentCgroup(agentName);
  if (!cgroup || !existsSync(cgroup.dir)) return;
  let runs: string[] = [];
  try {
    runs = readdirSync(cgroup.dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name.startsWith('run-'))
      .map((e) => `${cgroup.dir}/${e.name}`);
  } catch {
    // gone meanwhile
  }
  runner.change(['rmdir', ...runs, cgroup.dir], { privileged: true, allowFailure: true });
}

/** `nft list table` of the agent (root; sudo -n when not root, so it never prompts). */
export function listPolicy(runner: CommandRunner, agentName: string): StepResult {
  const argv = ['nft', 'list', 'table', 'inet', tableOf(agentName)];
  return runner.query(process.geteuid?.() === 0 ? argv : ['sudo', '-n', ...argv]);
}

export type LoadState = 'loaded' | 'missing' | 'outdated' | 'unknown';

/** Whether the kernel has exactly the configured policy (what the entrypoint checks at run time). */
export function loadState(agent: AgentConfig, listing: StepResult): LoadState {
  if (!enforced(agent.net)) return 'loaded';
  if (listing.status !== 0) return /No such file|does not exist/i.test(listing.stderr) ? 'missing' : 'unknown';
  const id = /comment "au-policy:([0-9a-z-]+)"/.exec(listing.stdout)?.[1];
  return id === expectedPolicyId({ ...agent, net: agent.net }) ? 'loaded' : 'outdated';
}

/** Packets the policy refused, from the table's `refused` counter. */
export function refusedPackets(listing: StepResult): number | undefined {
  const m = /counter refused \{\s*packets (\d+) bytes (\d+)/.exec(listing.stdout);
  return m ? Number(m[1]) : undefined;
}
