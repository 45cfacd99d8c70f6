import { checkHealth } from '../../agents/health.js';
import { loadConfig } from '../../config/store.js';
import type { Context } from '../context.js';
import { ExitCode } from '../errors.js';
import { paint, printJson, say } from '../output.js';
import { requireAgent } from './lookup.js';
import { detectCgroups, limitMechanism, limitProblems } from '../../limits/cgroups.js';
import { LIMIT_KEYS, formatLimit } from '../../limits/limits.js';
import { listPolicy, loadState } from '../../net/apply.js';
import { enforced } from '../../net/policy.js';
import { launchProblems } from '../../launch/prepare.js';

export function infoCommand(ctx: Context, name: string, json: boolean): void {
  const agent = requireAgent(loadConfig(ctx.configPath), name);
  const health = checkHealth(ctx.runner, agent, ctx.human);
  const support = detectCgroups();
  health.problems.push(...limitProblems(support, agent.limits));
  health.problems.push(...launchProblems(agent, ctx.human));
  const limitsText = LIMIT_KEYS.filter((k) => agent.limits?.[k] !== undefined).map((k) => `${k} ${formatLimit(k, agent.limits![k]!)}`).join(', ') || 'none';
  const netState = enforced(agent.net) ? loadState(agent, listPolicy(ctx.runner, agent.userName)) : 'loaded';
  if (netState === 'missing' || netState === 'outdated') {
    health.problems.push(`network policy ${agent.net!.policy} is not loaded (au run refuses to start): run \`au net apply -a ${agent.userName}\``);
  }
  const netText = `${agent.net?.policy ?? 'allow'}${netState === 'unknown' ? ' (cannot verify without root)' : ''}`;
  const healthy = health.problems.length === 0;
  if (json) {
    printJson({
      name: agent.userName,
      healthy,
      home: health.home,
      group: agent.group,
      entrypoint: agent.entrypoint,
      entrypoint_sha256: agent.entrypointSha256,
      uid: agent.uid ?? null,
      mounts: agent.mounts.map((m) => ({ source: m.source, target: m.target, mode: m.readOnly ? 'ro' : 'rw' })),
      limits: agent.limits ?? {},
      limits_enforced_by: limitMechanism(support, agent.limits),
      network: { policy: agent.net?.policy ?? 'allow', state: netState },
      problems: health.problems,
    });
  } else {
    say(healthy ? paint(agent.userName, 'green') : `${paint(agent.userName, 'green')} (${paint('BROKEN', 'red')})`);
    say(`  home: ${health.home}`);
    say(`  group: ${agent.group}`);
    say(`  entrypoint: ${agent.entrypoint}`);
    if (agent.mounts.length === 0) say('  mounts: none');
    else {
      say('  mounts:');
      for (const m of agent.mounts) say(`    - ${m.source} -> ${m.target} [${m.readOnly ? 'ro' : 'rw'}]`);
    }
    say(`  network: ${netText}`);
    say(`  limits: ${limitsText} [${limitMechanism(support, agent.limits)}]`);
    if (!healthy) {
      say(paint('  issues:', 'red'));
      for (const problem of health.problems) say(`    - ${problem}`);
    }
  }
  if (!healthy) throw new ExitCode(1);
}
