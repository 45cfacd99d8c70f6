import { AgentSetupError, createAgent, homeExposure, newRecord, planCreate } from '../../agents/create.js';
import { agentHomeOf } from '../../agents/names.js';
import { findAgent } from '../../config/schema.js';
import { updateConfig } from '../../config/store.js';
import { confirm } from '../confirm.js';
import type { Context } from '../context.js';
import { warn } from '../output.js';

export function newCommand(ctx: Context, name: string, yes: boolean): void {
  updateConfig(ctx.configPath, ctx.dryRun, (config, save) => {
    const plan = planCreate(ctx.runner, config, name);
    const exposure = homeExposure(ctx.human);
    if (exposure && !config.disableHomeAccessCheck) warn(exposure);
    const verb = plan.resuming ? 'Resume creating' : 'Create';
    if (!confirm(`${verb} agent ${name} in ${agentHomeOf(name)} and configure group 'su-as-${name}'?`, yes || ctx.dryRun)) {
      throw new AgentSetupError('cancelled');
    }
    let record = findAgent(config, name);
    if (!record) {
      record = newRecord(name);
      config.agents.push(record);
    }
    save();
    createAgent(ctx.runner, record, ctx.human, save);
  });
  process.stderr.write(ctx.dryRun ? `Dry run: nothing was changed\n` : `Created agent ${name}\n`);
}
