import { checkAgent } from '../../agents/health-facts.js';
import { isBroken } from '../../agents/health.js';
import { DEFAULT_AGENT } from '../../agents/names.js';
import { loadConfig } from '../../config/store.js';
import { detectCgroups } from '../../limits/cgroups.js';
import type { Context } from '../context.js';
import { paint, printJson, say } from '../output.js';

export function listCommand(ctx: Context, json: boolean): void {
  const config = loadConfig(ctx.configPath);
  const cgroups = detectCgroups();
  const rows = config.agents.map((agent) => ({
    name: agent.userName,
    default: agent.userName === DEFAULT_AGENT,
    healthy: !isBroken(checkAgent(ctx.runner, agent, ctx.human, cgroups)),
  }));
  if (json) {
    printJson(rows);
    return;
  }
  if (rows.length === 0) {
    say('No agents configured.');
    return;
  }
  for (const row of rows) {
    const marks = [row.default ? paint('default', 'green') : '', row.healthy ? '' : paint('BROKEN', 'red')].filter(Boolean);
    say(marks.length > 0 ? `${row.name} (${marks.join(', ')})` : row.name);
  }
}
