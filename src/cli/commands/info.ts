import { checkHealth } from '../../agents/health.js';
import { loadConfig } from '../../config/store.js';
import type { Context } from '../context.js';
import { ExitCode } from '../errors.js';
import { paint, printJson, say } from '../output.js';
import { requireAgent } from './lookup.js';

export function infoCommand(ctx: Context, name: string, json: boolean): void {
  const agent = requireAgent(loadConfig(ctx.configPath), name);
  const health = checkHealth(ctx.runner, agent, ctx.human);
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
    if (!healthy) {
      say(paint('  issues:', 'red'));
      for (const problem of health.problems) say(`    - ${problem}`);
    }
  }
  if (!healthy) throw new ExitCode(1);
}
