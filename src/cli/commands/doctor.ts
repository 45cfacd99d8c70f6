// `au doctor`: PASS/WARN/FAIL lines for the machine and every agent; exit 1 on FAIL.
import { loadConfig } from '../../config/store.js';
import { type Check, agentChecks, formatCheck, machineChecks } from '../../doctor/checks.js';
import type { Context } from '../context.js';
import type { Config } from '../../config/schema.js';
import { gitReadinessCommand, parseGitReadiness } from '../../agents/keys.js';
import { runAsAgentCaptured } from '../agent-capture.js';
import { allProfiles } from '../../profiles/resolve.js';
import { ExitCode } from '../errors.js';
import { paint, printJson, say } from '../output.js';

const COLOUR = { PASS: 'green', WARN: 'yellow', FAIL: 'red' } as const;

/** Whether each working agent has its own git keys and identity (asked as the agent: its ~/.ssh is its own). */
function gitChecks(ctx: Context, config: Config): Check[] {
  const checks: Check[] = [];
  for (const agent of config.agents.filter((a) => a.bootstrapped)) {
    const r = runAsAgentCaptured(ctx, agent.userName, gitReadinessCommand, 30_000);
    if (r.status !== 0) continue; // an agent that cannot run is reported by its own checks
    const ready = parseGitReadiness(r.stdout);
    const name = agent.userName;
    // Which Node the agent's programs get: npm quietly installs an old release of a program that needs a newer one.
    const needs = Math.max(0, ...allProfiles(config).map((p) => p.nodeMajor ?? 0));
    if (ready.nodeMajor === undefined) checks.push({ status: 'WARN', check: `agent ${name} node`, detail: 'no node on the agent\'s PATH: the npm-installed agents (Claude Code, Codex, Gemini CLI...) cannot run', fix: 'install Node.js system-wide (for example from NodeSource)' });
    else if (ready.nodeMajor < needs) checks.push({ status: 'WARN', check: `agent ${name} node`, detail: `the agent runs Node.js ${ready.nodeVersion}; a profile's program needs ${needs} or later (current Claude Code needs 22)`, fix: `install Node.js ${needs} or later system-wide (for example from NodeSource)` });
    else checks.push({ status: 'PASS', check: `agent ${name} node`, detail: `Node.js ${ready.nodeVersion}` });
    checks.push(
      ready.keys
        ? { status: 'PASS', check: `agent ${name} git keys`, detail: 'its own SSH authentication and signing keys exist' }
        : { status: 'WARN', check: `agent ${name} git keys`, detail: 'no SSH keys of its own for git', fix: `au keys -a ${name}` },
      ready.identity
        ? { status: 'PASS', check: `agent ${name} git identity`, detail: 'user.name and user.email are set' }
        : { status: 'WARN', check: `agent ${name} git identity`, detail: "its git user.name or user.email is not set", fix: `au run -a ${name} -- git config --global user.name "${name} (agent)" && au run -a ${name} -- git config --global user.email ${name}@example.invalid` },
    );
  }
  return checks;
}

export async function doctorCommand(ctx: Context, json: boolean): Promise<void> {
  const config = loadConfig(ctx.configPath);
  const { recordChecks } = await import('../../server/record-health.js');
  const checks: Check[] = [...machineChecks(ctx.runner, ctx.human), ...agentChecks(ctx.runner, ctx.human, config), ...gitChecks(ctx, config), ...recordChecks()];
  if (json) printJson(checks.map((c) => ({ ...c, fix: c.fix ?? null })));
  else for (const c of checks) say(formatCheck(c).replace(c.status, paint(c.status, COLOUR[c.status])));
  if (checks.some((c) => c.status === 'FAIL')) throw new ExitCode(1);
}
