import { assessAgent } from '../../agents/health.js';
import { gatherAgentFacts } from '../../agents/health-facts.js';
import { agentHomeOf } from '../../agents/names.js';
import { loadConfig } from '../../config/store.js';
import type { Context } from '../context.js';
import { ExitCode } from '../errors.js';
import { paint, printJson, say } from '../output.js';
import { requireAgent } from './lookup.js';
import { detectCgroups, limitMechanism } from '../../limits/cgroups.js';
import { LIMIT_KEYS, formatLimit } from '../../limits/limits.js';

export function infoCommand(ctx: Context, name: string, json: boolean): void {
  const agent = requireAgent(loadConfig(ctx.configPath), name);
  const support = detectCgroups();
  const facts = gatherAgentFacts(ctx.runner, agent, ctx.human, support);
  const findings = assessAgent(agent, facts);
  const failed = findings.filter((f) => f.severity === 'fail');
  const home = agentHomeOf(agent.userName);
  const limitsText =
    LIMIT_KEYS.filter((k) => agent.limits?.[k] !== undefined)
      .map((k) => `${k} ${formatLimit(k, agent.limits![k]!)}`)
      .join(', ') || 'none';
  const netState = facts.system?.netState === 'none' ? 'loaded' : (facts.system?.netState ?? 'unknown');
  const netText = `${agent.net?.policy ?? 'allow'}${netState === 'unknown' ? ' (cannot verify without root)' : ''}`;
  const healthy = failed.length === 0;
  if (json) {
    printJson({
      name: agent.userName,
      healthy,
      home,
      group: agent.group,
      entrypoint: agent.entrypoint,
      entrypoint_sha256: agent.entrypointSha256,
      uid: agent.uid ?? null,
      mounts: agent.mounts.map((m) => ({ source: m.source, target: m.target, mode: m.review ? 'review' : m.readOnly ? 'ro' : 'rw' })),
      limits: agent.limits ?? {},
      limits_enforced_by: limitMechanism(support, agent.limits),
      network: { policy: agent.net?.policy ?? 'allow', state: netState },
      problems: failed.map((f) => f.detail),
      findings,
    });
  } else {
    say(healthy ? paint(agent.userName, 'green') : `${paint(agent.userName, 'green')} (${paint('BROKEN', 'red')})`);
    say(`  home: ${home}`);
    say(`  group: ${agent.group}`);
    say(`  entrypoint: ${agent.entrypoint}`);
    if (agent.mounts.length === 0) say('  mounts: none');
    else {
      say('  mounts:');
      for (const m of agent.mounts) say(`    - ${m.source} -> ${m.target} [${m.review ? 'review' : m.readOnly ? 'ro' : 'rw'}]`);
    }
    say(`  network: ${netText}`);
    say(`  limits: ${limitsText} [${limitMechanism(support, agent.limits)}]`);
    if (!healthy) {
      say(paint('  issues:', 'red'));
      for (const f of failed) say(`    - ${f.detail}\n      fix: ${f.fix}`);
    }
  }
  if (!healthy) throw new ExitCode(1);
}
