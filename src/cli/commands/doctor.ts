// `au doctor`: PASS/WARN/FAIL lines for the machine and every agent; exit 1 on FAIL.
import { loadConfig } from '../../config/store.js';
import { type Check, agentChecks, formatCheck, machineChecks } from '../../doctor/checks.js';
import type { Context } from '../context.js';
import type { Config } from '../../config/schema.js';
import { gitReadinessCommand, parseGitReadiness } from '../../agents/keys.js';
import { runAsAgentCaptured } from '../agent-capture.js';
import { allProfiles } from '../../profiles/resolve.js';
import { installedProgramsCommand, parseInstalledPrograms } from '../../profiles/install.js';
import { agentProgramChecks } from '../../doctor/agent-programs.js';
import { ExitCode } from '../errors.js';
import { paint, printJson, say } from '../output.js';

const COLOUR = { PASS: 'green', WARN: 'yellow', FAIL: 'red' } as const;

/** Whether each working agent has its own git keys and identity, and the Node.js its programs need (asked as the agent: its home is its own). */
function gitChecks(ctx: Context, config: Config): Check[] {
  const checks: Check[] = [];
  for (const agent of config.agents.filter((a) => a.bootstrapped)) {
    const r = runAsAgentCaptured(ctx, agent.userName, gitReadinessCommand, 30_000);
    if (r.status !== 0) continue; // an agent that cannot run is reported by its own checks
    const ready = parseGitReadiness(r.stdout);
    const name = agent.userName;
    // Which Node.js the agent's programs get, and whether each installed program's engines.node holds.
    const profiles = allProfiles(config);
    const programs = runAsAgentCaptured(ctx, name, installedProgramsCommand(profiles), 30_000);
    if (programs.status === 0) checks.push(...agentProgramChecks(name, parseInstalledPrograms(programs.stdout, profiles), profiles));
    checks.push(
      ready.keys
        ? { status: 'PASS', check: `agent ${name} git keys`, detail: 'its own SSH authentication and signing keys exist' }
        : { status: 'WARN', check: `agent ${name} git keys`, detail: 'no SSH keys of its own for git', fix: `au keys -a ${name}` },
      ready.identity
        ? { status: 'PASS', check: `agent ${name} git identity`, detail: 'user.name and user.email are set' }
        : {
            status: 'WARN',
            check: `agent ${name} git identity`,
            detail: 'its git user.name or user.email is not set',
            fix: `au run -a ${name} -- git config --global user.name "${name} (agent)" && au run -a ${name} -- git config --global user.email ${name}@example.invalid`,
          },
    );
  }
  return checks;
}

export async function doctorCommand(ctx: Context, json: boolean): Promise<void> {
  const config = loadConfig(ctx.configPath);
  const { recordChecks } = await import('../../server/record-health.js');
  const checks: Check[] = [
    ...machineChecks(ctx.runner, ctx.human),
    ...agentChecks(ctx.runner, ctx.human, config),
    ...gitChecks(ctx, config),
    ...recordChecks(),
  ];
  if (json) printJson(checks.map((c) => ({ ...c, fix: c.fix ?? null })));
  else for (const c of checks) say(formatCheck(c).replace(c.status, paint(c.status, COLOUR[c.status])));
  if (checks.some((c) => c.status === 'FAIL')) throw new ExitCode(1);
}
