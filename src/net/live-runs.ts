// A policy change reaches only what starts after it: a live run keeps what it started with (a
// run begun under no policy is in no policy cgroup, so the inbound rules do not see its
// sockets; the flows it opened stay in conntrack, under its mark). So `au net set|clear|apply`
// refuses while the agent has processes unless --force, which ends them first (SIGKILL, until
// none is left); and once the table is loaded, the conntrack entries carrying the agent's mark
// are deleted, so that no flow the old policy let through is taken up again by a new run.
import { existsSync } from 'node:fs';
import type { AgentConfig } from '../config/schema.js';
import { AuError } from '../errors.js';
import type { CommandRunner } from '../system/runner.js';
import { uidProcesses } from './agent-alive.js';
import { conntrackMark } from './policy.js';

/** The agent is running (exit 1: the input was fine, the moment was not). */
export class LiveRunsError extends AuError {}

const ROUNDS = 20;
const pause = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** Refuses (nothing changed yet) while the agent has live processes, or with force ends them. */
export function settleLiveRuns(runner: CommandRunner, agent: AgentConfig, force: boolean, log: (line: string) => void): void {
  const uid = agent.uid;
  if (uid === undefined) return;
  const pids = uidProcesses(uid);
  if (pids !== undefined && pids.length === 0) return;
  const what =
    pids === undefined
      ? 'may have live processes (/proc hides them)'
      : `has ${pids.length} live process${pids.length === 1 ? '' : 'es'} (pid ${pids.slice(0, 8).join(', ')}${pids.length > 8 ? ', ...' : ''})`;
  if (!force)
    throw new LiveRunsError(
      `agent ${agent.userName} ${what}: they would keep the network policy they started with (open connections and sockets included); end them, or run again with --force to end them now`,
    );
  log(`Agent ${agent.userName} ${what}: ending them (SIGKILL), they would keep the old network policy`);
  if (pids === undefined) {
    runner.change(['pkill', '-KILL', '-U', String(uid)], { privileged: true, allowFailure: true });
    runner.change(['pkill', '-KILL', '-u', String(uid)], { privileged: true, allowFailure: true });
    return;
  }
  let left = pids;
  for (let round = 0; round < ROUNDS && left.length > 0; round++) {
    runner.change(['kill', '-KILL', ...left.map(String)], { privileged: true, allowFailure: true });
    if (runner.dryRun) return;
    pause(50);
    left = uidProcesses(uid) ?? [];
  }
  if (left.length > 0)
    throw new LiveRunsError(
      `agent ${agent.userName} still has ${left.length} processes after ${ROUNDS} rounds of SIGKILL: the policy was not changed`,
    );
}

const CONNTRACK = ['/usr/sbin/conntrack', '/sbin/conntrack', '/usr/bin/conntrack'];

/** Deletes the conntrack entries of the flows the agent opened (its mark): none outlives its policy. */
export function forgetFlows(runner: CommandRunner, agent: AgentConfig, log: (line: string) => void): void {
  if (agent.uid === undefined) return;
  const conntrack = CONNTRACK.find((p) => existsSync(p));
  if (!conntrack) {
    log(
      'warning: conntrack (package conntrack) is not installed: flows the agent opened under the old policy stay known until they expire',
    );
    return;
  }
  // Exit 1 when there was nothing to delete.
  for (const family of ['ipv4', 'ipv6'])
    runner.change([conntrack, '-D', '-f', family, '-m', conntrackMark(agent.uid)], { privileged: true, allowFailure: true });
}
