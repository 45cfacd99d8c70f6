// What an agent's configured containment adds to every start of its entrypoint, whoever
// starts it (`au run` or the session server): the limits and the network policy the
// entrypoint must find loaded (fail closed), and, for a domains policy, the proxy variables.
import type { AgentConfig } from '../config/schema.js';
import { expectedPolicyId } from '../net/cgroup.js';
import { enforced } from '../net/policy.js';
import type { LaunchRequest } from './launch.js';

export function containmentArguments(agent: AgentConfig): Pick<LaunchRequest, 'limits' | 'netPolicy'> {
  return { limits: agent.limits, netPolicy: enforced(agent.net) ? expectedPolicyId({ ...agent, net: agent.net }) : undefined };
}

/** The pairs plus HTTP(S)_PROXY pointing at the agent's proxy under a domains policy. */
export function withProxyVariables(agent: AgentConfig, pairs: readonly (readonly [string, string])[]): [string, string][] {
  const all = pairs.map(([k, v]) => [k, v] as [string, string]);
  if (agent.net?.policy !== 'domains' || !agent.net.proxyPort) return all;
  // The agent's only way out is the proxy: point the usual variables at it.
  const url = `http://127.0.0.1:${agent.net.proxyPort}`;
  for (const key of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) if (!all.some(([k]) => k === key)) all.push([key, url]);
  return all;
}

/** domains policy: make sure the agent's CONNECT proxy is listening (started as the human). */
export async function ensureAgentProxy(agent: AgentConfig, configPath: string | undefined): Promise<void> {
  if (agent.net?.policy !== 'domains' || !agent.net.proxyPort) return;
  const { ensureProxyRunning } = await import('../net/proxy-process.js');
  await ensureProxyRunning(agent.userName, agent.net.proxyPort, configPath);
}
