// The network part of `au doctor`: is each agent's configured policy loaded in the kernel?
import type { Config } from '../config/schema.js';
import type { Check } from '../doctor/checks.js';
import { ProcessRunner } from '../system/runner.js';
import { listPolicy, loadState } from './apply.js';
import { enforced } from './policy.js';

export function netDoctorCheck(agentName: string, config: Config): Check[] {
  const agent = config.agents.find((a) => a.userName === agentName);
  if (!agent) return [];
  const check = `agent ${agentName} network`;
  if (!enforced(agent.net)) return [{ status: 'PASS', check, detail: 'policy allow (no filtering)' }];
  const state = loadState(agent, listPolicy(new ProcessRunner(false), agentName));
  const fix = `au net apply -a ${agentName}`;
  if (state === 'loaded') return [{ status: 'PASS', check, detail: `policy ${agent.net.policy} loaded (nftables table inet au-${agentName})` }];
  if (state === 'unknown') return [{ status: 'WARN', check, detail: `cannot read nftables to verify policy ${agent.net.policy} (needs root)`, fix: `sudo nft list table inet au-${agentName}` }];
  return [{ status: 'FAIL', check, detail: `policy ${agent.net.policy} is ${state === 'missing' ? 'not loaded' : 'not the one loaded'}: au run -a ${agentName} refuses to start`, fix }];
}
