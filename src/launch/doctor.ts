// The launch part of `au doctor`: would the entrypoint accept a plain run of each agent?
// (A config it refuses, e.g. more than 64 shares, breaks every run while all else looks fine.)
import type { AgentCheck, Check } from '../doctor/checks.js';
import type { Human } from '../system/human.js';
import { launchProblems } from './prepare.js';

export function launchDoctorCheck(human: Human): AgentCheck {
  return (agentName, config): Check[] => {
    const agent = config.agents.find((a) => a.userName === agentName);
    if (!agent) return [];
    const check = `agent ${agentName} launch`;
    const problems = launchProblems(agent, human);
    if (problems.length === 0) return [{ status: 'PASS', check, detail: `the entrypoint accepts a run with its ${agent.mounts.length} share(s)` }];
    return problems.map((detail) => ({ status: 'FAIL', check, detail, fix: `au mount list -a ${agentName}  # then au mount remove -a ${agentName} SRC` }));
  };
}
