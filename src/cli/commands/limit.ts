// `au limit set|show|clear`: the agent's resource limits, stored in the config and applied by
// the entrypoint on every run.
import { loadConfig, updateConfig } from '../../config/store.js';
import { enforced } from '../../net/policy.js';
import { detectCgroups, limitMechanism, limitProblems, removeAgentCgroups } from '../../limits/cgroups.js';
import { LIMIT_KEYS, type LimitKey, type Limits, formatLimit, hasLimits, parseLimit } from '../../limits/limits.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { printJson, say, warn } from '../output.js';
import { requireAgent } from './lookup.js';

export type LimitInput = Partial<Record<LimitKey, string>>;

function describeLimits(limits: Limits | undefined): string {
  const parts = LIMIT_KEYS.filter((key) => limits?.[key] !== undefined).map((key) => `${key} ${formatLimit(key, limits![key]!)}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

export function limitSetCommand(ctx: Context, name: string, input: LimitInput): void {
  const given = LIMIT_KEYS.filter((key) => input[key] !== undefined);
  if (given.length === 0) throw new UsageError('au limit set needs at least one of --memory, --cpu, --pids, --nofile');
  const values = Object.fromEntries(given.map((key) => [key, parseLimit(key, input[key]!)])) as Limits;
  updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
    const agent = requireAgent(config, name);
    agent.limits = { ...agent.limits, ...values };
    for (const problem of limitProblems(detectCgroups(), agent.limits)) warn(problem);
    save();
    process.stderr.write(`Limits of ${name}: ${describeLimits(agent.limits)} (applied from the next run)\n`);
  });
}

export function limitClearCommand(ctx: Context, name: string, which: Partial<Record<LimitKey, boolean>>): void {
  const chosen = LIMIT_KEYS.filter((key) => which[key]);
  updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
    const agent = requireAgent(config, name);
    const limits: Limits = { ...agent.limits };
    for (const key of chosen.length > 0 ? chosen : LIMIT_KEYS) delete limits[key];
    agent.limits = hasLimits(limits) ? limits : undefined;
    save();
    // A network policy's input rules name the agent's cgroup v2 (on cgroup2 hosts the same directory).
    if (!agent.limits && !enforced(agent.net)) removeAgentCgroups(ctx.runner, name);
    process.stderr.write(`Limits of ${name}: ${describeLimits(agent.limits)}\n`);
  });
}

export function limitShowCommand(ctx: Context, name: string, json: boolean): void {
  const agent = requireAgent(loadConfig(ctx.configPath), name);
  const support = detectCgroups();
  const mechanism = limitMechanism(support, agent.limits);
  const problems = limitProblems(support, agent.limits);
  if (json) {
    printJson({
      name,
      limits: Object.fromEntries(LIMIT_KEYS.map((key) => [key, agent.limits?.[key] ?? null])),
      mechanism,
      cgroup_version: support.version ?? null,
      cgroup_controllers: support.controllers,
      problems,
    });
    return;
  }
  for (const key of LIMIT_KEYS) say(`${key}: ${agent.limits?.[key] !== undefined ? formatLimit(key, agent.limits[key]) : 'unlimited'}`);
  say(`enforced by: ${mechanism}`);
  for (const problem of problems) warn(problem);
}
